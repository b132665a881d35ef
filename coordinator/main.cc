// The coordinator: plans a migration job and hands accounts to workers.
// The modes arrive with the next issue; until then it says so and exits non-zero.
#include <cstdio>

int main() {
  std::fprintf(stderr,
               "coordinator: the export/import/validate/test modes are not built yet "
               "(see README.md, 'Status').\n");
  return 2;
}
