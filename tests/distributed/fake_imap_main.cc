// fake_imap --listen HOST:PORT: FakeImapServer as a process (for tests that
// need it inside a network namespace). Prints "READY <port>" and serves until
// killed.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/distributed/fake_imap.h"

int main(int argc, char** argv) {
  if (argc != 3 || std::string(argv[1]) != "--listen") {
    std::fprintf(stderr, "usage: fake_imap --listen HOST:PORT\n");
    return 2;
  }
  std::string a = argv[2];
  size_t colon = a.rfind(':');
  if (colon == std::string::npos) return 2;
  fleettest::FakeImapServer server;
  if (!server.Start(a.substr(0, colon), std::atoi(a.c_str() + colon + 1))) {
    std::perror("fake_imap: listen");
    return 3;
  }
  std::printf("READY %d\n", server.port());
  std::fflush(stdout);
  for (;;) ::pause();
}
