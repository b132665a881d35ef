// The XML reader for the two S3 documents the store needs: the ListObjectsV2 result
// (<Key>, <Size>, <IsTruncated>, <NextContinuationToken>) and the <Error> body (<Code>,
// <Message>). The XML itself is read by expat (libexpat1): comments, processing
// instructions, CDATA, the five predefined entities and character references are
// understood; namespaces are not expanded (names stay as written); attributes are skipped.
//
// Untrusted input: a document type declaration (DTD) or entity declaration is refused, so
// no entity is ever defined (no expansion, no "billion laughs", no external resource); an
// undefined entity is an error. Bounded: nesting deeper than kMaxXmlDepth and character
// data of one element longer than kMaxXmlText are errors; callers bound the input size.
// Errors say what and where ("malformed XML: ... at line L, column C").
// Pure functions; thread-safe.
#ifndef MIGRATOR_COMMON_STORAGE_S3_XML_H_
#define MIGRATOR_COMMON_STORAGE_S3_XML_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/storage/store.h"

namespace storage {
namespace s3 {

inline constexpr int kMaxXmlDepth = 32;
inline constexpr size_t kMaxXmlText = 1 << 20;

// Replaces the five predefined entities and &#N; / &#xH; (encoded as UTF-8) in character
// data. kInvalidArgument on an unknown or malformed entity, a reference to a character XML
// does not allow, or a '<'.
absl::StatusOr<std::string> XmlUnescape(absl::string_view text);

// Walks `xml` and calls `on_end(path, text)` at every closing (or self-closing) element:
// `path` holds the element names from the root down to it, `text` its decoded character
// data (for elements with children: the text between them, usually whitespace).
// kInvalidArgument when the document is malformed.
absl::Status WalkXml(absl::string_view xml,
                     const std::function<void(const std::vector<std::string>& path,
                                              const std::string& text)>& on_end);

struct ListPage {
  std::vector<ObjectInfo> objects;  // full object keys as the server sent them
  bool truncated = false;
  std::string next_continuation_token;
};

// Parses a ListObjectsV2 response (root <ListBucketResult>). kInvalidArgument when
// malformed (the caller reports it as a bad server response). Raw control bytes (not XML,
// but S3 sends a key holding them as they are) are read as DEL (0x7f): such a key stays
// invalid for ValidateKey and is skipped rather than failing the whole listing.
absl::StatusOr<ListPage> ParseListObjectsV2(absl::string_view xml);

struct ErrorBody {
  std::string code;     // e.g. "NoSuchKey"; empty when the body is no S3 <Error>
  std::string message;  // the server's human-readable message
};

// Best effort: fields stay empty when `xml` is not an S3 error document.
ErrorBody ParseErrorBody(absl::string_view xml);

}  // namespace s3
}  // namespace storage

#endif  // MIGRATOR_COMMON_STORAGE_S3_XML_H_
