// The export's data format (README "Data format"), the contract between export, import and
// validate:
//
//   <root>/<email>/<folder path>/.folder.json   FolderMeta (exact server name, delimiter,
//                                                special use, UIDVALIDITY, ...)
//   <root>/<email>/<folder path>/<V>-<UID>.eml  the message, byte for byte as served
//   <root>/<email>/<folder path>/<V>-<UID>.json MessageMeta; a message counts as exported
//                                                when its .json exists (written after .eml)
//   <root>/<email>/.refused.json                 written by import: the messages server B
//                                                refused (validate reports them as refused)
//
// <folder path> is the UTF-8 folder name split at the server's hierarchy delimiter, each
// component escaped (EscapeComponent) so it is safe on every filesystem and object store
// and can never collide with a message or metadata file. <V>-<UID> (UIDVALIDITY and UID,
// the UID zero-padded to 10 digits) is deterministic: re-exporting a message gives the same
// name; different messages, or identical copies, get different names.
#ifndef MIGRATOR_COMMON_ENGINE_LAYOUT_H_
#define MIGRATOR_COMMON_ENGINE_LAYOUT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "common/engine/engine.h"

namespace engine {

inline constexpr char kFolderMetaName[] = ".folder.json";
// At the account's root: no folder path can be named so (a leading '.' is escaped).
inline constexpr char kRefusedName[] = ".refused.json";

// Escapes one folder name component: '%', '/', '\', control bytes, DEL and the characters
// some filesystems or object stores reserve (: * ? " < > |) become %XX; a leading '.' and
// the '.' of a trailing ".eml"/".json" too; an empty component is "%-". Components longer
// than 200 bytes are cut and suffixed with "%~" and 16 hex digits of their SHA-256 (the
// exact name is in .folder.json). UTF-8 bytes stay as they are.
std::string EscapeComponent(absl::string_view component);
// Percent-decoding of EscapeComponent's output (not of cut components).
absl::StatusOr<std::string> UnescapeComponent(absl::string_view escaped);

// "Parent/Child" for the name "Parent.Child" with delimiter '.'; delimiter 0 = flat.
std::string FolderPath(absl::string_view utf8_name, char delimiter);

std::string FolderPrefix(absl::string_view email, absl::string_view folder_path);
std::string MessageBase(uint64_t uidvalidity, uint32_t uid);
// Parses "<V>-<UID>" (no extension). False when `base` is not of that form.
bool ParseMessageBase(absl::string_view base, uint64_t* uidvalidity, uint32_t* uid);

struct FolderMeta {
  std::string name;         // UTF-8 (decoded from modified UTF-7)
  std::string raw_name;     // exactly as server A listed it
  std::string delimiter;    // "" when flat (NIL)
  std::string special_use;  // "\Sent", ... or ""
  std::vector<std::string> attributes;
  std::string namespace_prefix;  // server A's personal namespace prefix ("", "INBOX.")
  uint64_t uidvalidity = 0;
  // After a UIDVALIDITY change: UIDs of the new epoch whose content was already exported
  // under an older name (content-deduplicated, or by X-GM-MSGID), uid → base name.
  std::map<uint32_t, std::string> claimed;
  // A Gmail export (server A offered X-GM-EXT-1, README "Gmail labels"): the folder that
  // holds every message once, with its labels (Gmail's \All, "[Gmail]/All Mail")...
  bool gmail_all_mail = false;
  // ... or a folder that stands for a label ("\Inbox", "\Sent", "Work/2024"): it holds no
  // message of its own; its messages are those of the All Mail folder with this label.
  std::string gmail_label;
};

struct MessageMeta {
  std::vector<std::string> flags;
  // As server A sent it; when that was not an IMAP date-time, the fallback (the message's
  // Date: header field as an IMAP date-time, or "" when that does not parse either: the
  // import then appends without a date and server B uses the time of the APPEND).
  std::string internaldate;
  uint64_t size = 0;  // the .eml's length (never server A's RFC822.SIZE)
  // Server A's values as sent, when they were unusable (the message is kept regardless).
  absl::optional<std::string> internaldate_raw;
  bool size_unusable = false;            // RFC822.SIZE missing or not a number
  absl::optional<std::string> size_raw;  // when size_unusable: as sent; unset when missing
  std::string sha256;                    // hex, of the .eml
  std::string message_id;                // "" when absent
  // HeaderDigest (identity.h) of the .eml, which tells apart different messages sharing a
  // Message-ID and INTERNALDATE; "" when not recorded (an export older than it, or a header
  // section longer than export reads for it): import reads the .eml when it needs it.
  std::string header_digest;
  uint64_t uidvalidity = 0;  // source
  uint32_t uid = 0;
  // Exported from a Gmail All Mail folder (FolderMeta::gmail_all_mail): Gmail's id of the
  // message (X-GM-MSGID) and its labels (X-GM-LABELS; UTF-8, system labels as "\\Inbox").
  // Unset otherwise (the .json then has neither field).
  absl::optional<uint64_t> gmail_msgid;
  absl::optional<std::vector<std::string>> gmail_labels;
};

std::string FolderMetaToJson(const FolderMeta& meta);
absl::StatusOr<FolderMeta> FolderMetaFromJson(absl::string_view json);
std::string MessageMetaToJson(const MessageMeta& meta);
absl::StatusOr<MessageMeta> MessageMetaFromJson(absl::string_view json);

// One message of the export that server B refused, or took without some keywords
// (message.keywords not empty), in the account's refusal record.
struct RefusedEntry {
  std::string folder;  // UTF-8 folder name
  std::string prefix;  // the folder's key prefix ("a@x/INBOX/")
  std::string base;    // the message's base name (<V>-<UID>)
  RefusedMessage message;
};
struct RefusalRecord {
  std::string target;  // "host:port" of server B
  std::string updated_at;
  std::vector<RefusedEntry> entries;
};
std::string RefusalRecordToJson(const RefusalRecord& record);
absl::StatusOr<RefusalRecord> RefusalRecordFromJson(absl::string_view json);

}  // namespace engine

#endif  // MIGRATOR_COMMON_ENGINE_LAYOUT_H_
