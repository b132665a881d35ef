#include "tests/distributed/netns_hosts.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/distributed/process_util.h"

namespace fleettest {

int Sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string IpBinary() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "ip";
}

bool CanMakeNamespaces(std::string* why) {
  if (::geteuid() != 0) {
    *why = "needs root to make network namespaces";
    return false;
  }
  if (Sh("command -v ip >/dev/null") != 0) {
    *why = "needs ip (iproute2) to make network namespaces";
    return false;
  }
  return true;
}

std::vector<std::string> InNamespace(const std::string& ns, std::vector<std::string> argv) {
  argv.insert(argv.begin(), {IpBinary(), "netns", "exec", ns});
  return argv;
}

bool RunInNamespace(const std::string& ns, const std::function<void()>& fn) {
  bool entered = false;
  std::thread t([&] {
    const int fd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    entered = ::setns(fd, CLONE_NEWNET) == 0;  // this thread only
    ::close(fd);
    if (entered) fn();
  });
  t.join();
  return entered;
}

HostNamespaces::HostNamespaces(std::string tag, int hosts)
    : tag_(std::move(tag)), hub_(absl::StrCat("mig", tag_, "c")) {
  for (int i = 0; i < hosts; ++i) hosts_.push_back(absl::StrCat("mig", tag_, "h", i));
}

HostNamespaces::~HostNamespaces() {
  std::vector<std::string> all = hosts_;
  all.push_back(hub_);
  for (const std::string& n : all) {
    Sh("for p in $(ip netns pids " + n + " 2>/dev/null); do kill -9 $p; done");
    Sh("ip netns del " + n + " 2>/dev/null");
  }
}

std::string HostNamespaces::hub_ip(int i) const { return absl::StrCat("10.231.", i + 1, ".1"); }
std::string HostNamespaces::host_ip(int i) const { return absl::StrCat("10.231.", i + 1, ".2"); }

bool HostNamespaces::Create(std::string* why) {
  std::vector<std::string> cmds;
  std::vector<std::string> all = hosts_;
  all.insert(all.begin(), hub_);
  for (const std::string& n : all) {
    cmds.push_back("ip netns add " + n);
    cmds.push_back("ip -n " + n + " link set lo up");
  }
  for (int i = 0; i < hosts(); ++i) {  // veth hub <-> host i, the host's default route
    const std::string cn = absl::StrCat("mg", tag_, "c", i), hn = absl::StrCat("mg", tag_, "h", i);
    cmds.push_back("ip link add " + cn + " type veth peer name " + hn);
    cmds.push_back("ip link set " + cn + " netns " + hub_);
    cmds.push_back("ip link set " + hn + " netns " + hosts_[i]);
    cmds.push_back("ip -n " + hub_ + " addr add " + hub_ip(i) + "/24 dev " + cn);
    cmds.push_back("ip -n " + hosts_[i] + " addr add " + host_ip(i) + "/24 dev " + hn);
    cmds.push_back("ip -n " + hub_ + " link set " + cn + " up");
    cmds.push_back("ip -n " + hosts_[i] + " link set " + hn + " up");
    cmds.push_back("ip -n " + hosts_[i] + " route add default via " + hub_ip(i));
  }
  const std::string err = absl::StrCat("/tmp/netns-err-", ::getpid());
  for (const std::string& c : cmds) {
    if (Sh(c + " 2>" + err) != 0) {
      *why = c + ": " + ReadFile(err);
      ::unlink(err.c_str());
      return false;
    }
  }
  ::unlink(err.c_str());
  return true;
}

}  // namespace fleettest
