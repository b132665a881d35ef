// Placeholder until the real engine lands: every account fails with kUnimplemented.
#include "common/engine/engine.h"

#include "absl/strings/ascii.h"

namespace engine {

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kExport: return "export";
    case Mode::kImport: return "import";
    case Mode::kValidate: return "validate";
    case Mode::kTest: return "test";
  }
  return "?";
}

bool ParseMode(absl::string_view text, Mode* mode) {
  for (Mode m : {Mode::kExport, Mode::kImport, Mode::kValidate, Mode::kTest}) {
    if (absl::AsciiStrToLower(text) == ModeName(m)) {
      *mode = m;
      return true;
    }
  }
  return false;
}

AccountResult RunAccount(const AccountTask& task, storage::Store& store,
                         ProgressListener* progress, const CancelToken& cancel) {
  AccountResult r;
  r.status = absl::UnimplementedError("engine not built yet");
  return r;
}

}  // namespace engine
