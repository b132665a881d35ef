// Worker "hosts" as Linux network namespaces, for tests and benchmarks that need processes
// on separate hosts on one machine: a hub namespace (where a coordinator listens) and N host
// namespaces, each joined to the hub by its own veth pair on a private /24 that exists only
// inside these namespaces (host i: 10.231.<i+1>.1 on the hub's end, 10.231.<i+1>.2 on the
// host's, the host's default route via the hub's end, so every host reaches hub_ip(0)).
// Every namespace has its own loopback. Nothing is configured in the root namespace but the
// namespaces' names (and, briefly, the veths before they move), so runs in parallel only
// need different tags. Needs root and `ip` (iproute2); removed, with every process inside,
// by the destructor.
#ifndef MIGRATOR_TESTS_DISTRIBUTED_NETNS_HOSTS_H_
#define MIGRATOR_TESTS_DISTRIBUTED_NETNS_HOSTS_H_

#include <functional>
#include <string>
#include <vector>

namespace fleettest {

// The shell's exit code of `cmd` (-1 when it did not exit).
int Sh(const std::string& cmd);
// Where `ip` is (execv needs a path).
std::string IpBinary();
// False (with `*why`) when this process cannot make namespaces: not root, or no `ip`.
bool CanMakeNamespaces(std::string* why);
// `argv` run inside namespace `ns` (`ip netns exec NS ...`).
std::vector<std::string> InNamespace(const std::string& ns, std::vector<std::string> argv);
// Runs `fn` on a thread of its own inside namespace `ns` and waits for it: the sockets it
// creates belong to `ns` for their whole life, whichever thread uses them later. False when
// the namespace cannot be entered (fn not run).
bool RunInNamespace(const std::string& ns, const std::function<void()>& fn);

class HostNamespaces {
 public:
  // Names: "mig<tag>c" (the hub) and "mig<tag>h<i>"; veths "mg<tag>c<i>" / "mg<tag>h<i>" (so
  // `tag` at most 8 characters). Nothing is made before Create().
  HostNamespaces(std::string tag, int hosts);
  ~HostNamespaces();
  HostNamespaces(const HostNamespaces&) = delete;
  HostNamespaces& operator=(const HostNamespaces&) = delete;

  // False (with `*why`: the command and its error) when they cannot be made here.
  bool Create(std::string* why);

  const std::string& hub() const { return hub_; }
  const std::string& host(int i) const { return hosts_[i]; }
  int hosts() const { return static_cast<int>(hosts_.size()); }
  std::string hub_ip(int i) const;   // the hub's end of host i's link
  std::string host_ip(int i) const;  // host i's end

 private:
  std::string tag_, hub_;
  std::vector<std::string> hosts_;
};

}  // namespace fleettest

#endif  // MIGRATOR_TESTS_DISTRIBUTED_NETNS_HOSTS_H_
