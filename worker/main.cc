// The worker: runs accounts on the transfer engine for a coordinator.
// The session with the coordinator arrives with the next issue.
#include <cstdio>

int main() {
  std::fprintf(stderr, "worker: not built yet (see README.md, 'Status').\n");
  return 2;
}
