// A tiny, purpose-built XML reader for the two S3 documents the store needs: the
// ListObjectsV2 result (<Key>, <Size>, <IsTruncated>, <NextContinuationToken>) and the
// <Error> body (<Code>, <Message>). Not a general XML parser: no namespaces, no DTDs;
// attributes are skipped; comments, processing instructions and CDATA are understood.
// Entities: &amp; &lt; &gt; &quot; &apos; and numeric character references.
//
// Bounded: nesting deeper than kMaxXmlDepth is an error. Callers bound the input size.
// Pure functions; thread-safe.
#ifndef MIGRATOR_COMMON_STORAGE_S3_XML_H_
#define MIGRATOR_COMMON_STORAGE_S3_XML_H_

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

// Replaces the five predefined entities and &#N; / &#xH; (encoded as UTF-8).
// kInvalidArgument on an unknown or malformed entity.
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
// malformed (the caller reports it as a bad server response).
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
