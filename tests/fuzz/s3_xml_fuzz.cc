// Fuzz target for the S3 XML reader (common/storage/s3_xml.h): our code around expat (DTD
// and entity refusal, depth and text bounds, field picking). Each input goes to WalkXml,
// ParseListObjectsV2, ParseErrorBody and XmlUnescape. Invariants, any violation aborts:
//  - every error is kInvalidArgument and starts with "malformed XML: ";
//  - WalkXml reports only element ends with a path of 1..kMaxXmlDepth non-empty names and
//    at most kMaxXmlText bytes of text, and on success the last one is the root's;
//  - a page ParseListObjectsV2 accepts has a key in every object and a token when
//    truncated; written back as XML (keys escaped) it parses to the same page;
//  - XmlUnescape's output, escaped again, unescapes to itself.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/storage/s3_xml.h"

namespace {

using storage::ObjectInfo;
using storage::s3::ListPage;

void Check(bool ok, const char* what, absl::string_view detail = "") {
  if (ok) return;
  std::fprintf(stderr, "s3_xml_fuzz: invariant violated: %s %.*s\n", what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void CheckError(const absl::Status& status) {
  if (status.ok()) return;
  Check(status.code() == absl::StatusCode::kInvalidArgument, "unexpected code", status.ToString());
  Check(absl::StartsWith(status.message(), "malformed XML: "), "unexpected message",
        status.message());
}

// Character data as XML: the markup characters and the whitespace expat would normalize.
std::string Escape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\t':
      case '\n':
      case '\r':
        absl::StrAppend(&out, "&#", static_cast<int>(c), ";");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// Only finite times are written; any other reads back as "not said".
absl::Time Shown(absl::Time t) { return t == absl::InfiniteFuture() ? absl::InfinitePast() : t; }

std::string PageXml(const ListPage& page) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult>";
  absl::StrAppend(&xml, "<IsTruncated>", page.truncated ? "true" : "false", "</IsTruncated>");
  if (!page.next_continuation_token.empty()) {
    absl::StrAppend(&xml, "<NextContinuationToken>", Escape(page.next_continuation_token),
                    "</NextContinuationToken>");
  }
  for (const ObjectInfo& o : page.objects) {
    absl::StrAppend(&xml, "<Contents><Key>", Escape(o.key), "</Key><Size>", o.size, "</Size>");
    if (Shown(o.modified) != absl::InfinitePast()) {
      absl::StrAppend(&xml, "<LastModified>",
                      absl::FormatTime(absl::RFC3339_full, o.modified, absl::UTCTimeZone()),
                      "</LastModified>");
    }
    xml += "</Contents>";
  }
  return xml + "</ListBucketResult>\n";
}

bool SamePage(const ListPage& a, const ListPage& b) {
  if (a.truncated != b.truncated || a.next_continuation_token != b.next_continuation_token ||
      a.objects.size() != b.objects.size()) {
    return false;
  }
  for (size_t i = 0; i < a.objects.size(); ++i) {
    const ObjectInfo& x = a.objects[i];
    const ObjectInfo& y = b.objects[i];
    if (x.key != y.key || x.size != y.size || Shown(x.modified) != y.modified) return false;
  }
  return true;
}

void CheckWalk(absl::string_view input) {
  size_t ends = 0;
  size_t last_depth = 0;
  absl::Status walked = storage::s3::WalkXml(
      input, [&](const std::vector<std::string>& path, const std::string& text) {
        Check(!path.empty() && path.size() <= static_cast<size_t>(storage::s3::kMaxXmlDepth),
              "path depth out of bounds");
        for (const std::string& name : path) Check(!name.empty(), "empty element name");
        Check(text.size() <= storage::s3::kMaxXmlText, "text above the bound");
        ++ends;
        last_depth = path.size();
      });
  CheckError(walked);
  if (walked.ok()) Check(ends > 0 && last_depth == 1, "success without the root's end");
}

void CheckListing(absl::string_view input) {
  absl::StatusOr<ListPage> page = storage::s3::ParseListObjectsV2(input);
  CheckError(page.status());
  if (!page.ok()) return;
  for (const ObjectInfo& o : page->objects) Check(!o.key.empty(), "object without a key");
  Check(!page->truncated || !page->next_continuation_token.empty(), "truncated without token");
  std::string xml = PageXml(*page);
  absl::StatusOr<ListPage> again = storage::s3::ParseListObjectsV2(xml);
  Check(again.ok(), "written page does not parse", again.status().message());
  Check(SamePage(*page, *again), "written page parses differently", xml);
}

void CheckUnescape(absl::string_view input) {
  absl::StatusOr<std::string> text = storage::s3::XmlUnescape(input);
  CheckError(text.status());
  if (!text.ok()) return;
  absl::StatusOr<std::string> again = storage::s3::XmlUnescape(Escape(*text));
  Check(again.ok() && *again == *text, "escape then unescape is not the identity", *text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckWalk(input);
  CheckListing(input);
  storage::s3::ParseErrorBody(input);  // best effort: only must not crash
  CheckUnescape(input);
  return 0;
}
