// The S3 XML reader (see s3_xml.h).
#include "common/storage/s3_xml.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status/status_macros.h"
#include "common/text/utf8.h"

namespace storage {
namespace s3 {
namespace {

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed XML: ", what));
}

using text::AppendUtf8;

// One entity body (between '&' and ';') appended to `out`.
absl::Status DecodeEntity(absl::string_view name, std::string* out) {
  if (name == "amp") return out->push_back('&'), absl::OkStatus();
  if (name == "lt") return out->push_back('<'), absl::OkStatus();
  if (name == "gt") return out->push_back('>'), absl::OkStatus();
  if (name == "quot") return out->push_back('"'), absl::OkStatus();
  if (name == "apos") return out->push_back('\''), absl::OkStatus();
  if (name.size() >= 2 && name[0] == '#') {
    uint32_t cp = 0;
    bool ok = (name[1] == 'x' || name[1] == 'X')
                  ? name.size() > 2 && absl::SimpleHexAtoi(name.substr(2), &cp)
                  : absl::SimpleAtoi(name.substr(1), &cp);
    if (ok && cp != 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
      AppendUtf8(cp, out);
      return absl::OkStatus();
    }
  }
  return Malformed(absl::StrCat("unknown entity &", name.substr(0, 16), ";"));
}

// The end of a tag starting at `lt` ('>' position), skipping quoted attribute values.
size_t TagEnd(absl::string_view xml, size_t lt) {
  char quote = 0;
  for (size_t i = lt + 1; i < xml.size(); ++i) {
    char c = xml[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      return i;
    }
  }
  return absl::string_view::npos;
}

bool NameChar(char c) {
  return !absl::ascii_isspace(static_cast<unsigned char>(c)) && c != '/' && c != '>';
}

}  // namespace

absl::StatusOr<std::string> XmlUnescape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t amp = text.find('&', pos);
    if (amp == absl::string_view::npos) amp = text.size();
    out.append(text.data() + pos, amp - pos);
    if (amp == text.size()) break;
    size_t semi = text.find(';', amp);
    if (semi == absl::string_view::npos || semi - amp > 12) {
      return Malformed("unterminated entity");
    }
    RETURN_IF_ERROR(DecodeEntity(text.substr(amp + 1, semi - amp - 1), &out));
    pos = semi + 1;
  }
  return out;
}

namespace {

// The state of one WalkXml pass.
class Walker {
 public:
  using Callback = std::function<void(const std::vector<std::string>&, const std::string&)>;
  Walker(absl::string_view xml, const Callback& on_end) : xml_(xml), on_end_(on_end) {}

  absl::Status Run() {
    while (pos_ < xml_.size()) {
      size_t lt = xml_.find('<', pos_);
      size_t stop = lt == absl::string_view::npos ? xml_.size() : lt;
      RETURN_IF_ERROR(Text(xml_.substr(pos_, stop - pos_)));
      if (lt == absl::string_view::npos) break;
      RETURN_IF_ERROR(Markup(lt));
    }
    if (!path_.empty()) return Malformed(absl::StrCat("unclosed element <", path_.back(), ">"));
    if (!root_done_) return Malformed("no root element");
    return absl::OkStatus();
  }

 private:
  absl::Status Text(absl::string_view chars) {
    if (path_.empty()) {
      if (!absl::StripAsciiWhitespace(chars).empty()) return Malformed("text outside the root");
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::string decoded, XmlUnescape(chars));
    text_ += decoded;
    return absl::OkStatus();
  }

  // The markup at `lt`: a comment, PI, CDATA section, declaration or tag.
  absl::Status Markup(size_t lt) {
    absl::string_view rest = xml_.substr(lt);
    bool cdata = absl::StartsWith(rest, "<![CDATA[");
    if (absl::StartsWith(rest, "<!--") || absl::StartsWith(rest, "<?") || cdata) {
      absl::string_view close = cdata ? "]]>" : rest[1] == '?' ? "?>" : "-->";
      size_t end = xml_.find(close, lt + 2);
      if (end == absl::string_view::npos) return Malformed("unterminated markup");
      if (cdata) {
        if (path_.empty()) return Malformed("CDATA outside the root");
        text_.append(xml_.data() + lt + 9, end - lt - 9);
      }
      pos_ = end + close.size();
      return absl::OkStatus();
    }
    size_t gt = TagEnd(xml_, lt);
    if (gt == absl::string_view::npos) return Malformed("unterminated tag");
    absl::string_view tag = xml_.substr(lt + 1, gt - lt - 1);
    pos_ = gt + 1;
    if (absl::StartsWith(tag, "!")) return absl::OkStatus();  // <!DOCTYPE ...>
    if (absl::StartsWith(tag, "/")) return EndTag(absl::StripAsciiWhitespace(tag.substr(1)));
    return StartTag(tag);
  }

  absl::Status StartTag(absl::string_view tag) {
    size_t n = 0;
    while (n < tag.size() && NameChar(tag[n])) ++n;
    if (n == 0) return Malformed("empty tag name");
    if (path_.empty() && root_done_) return Malformed("a second root element");
    if (path_.size() >= static_cast<size_t>(kMaxXmlDepth)) return Malformed("nested too deep");
    path_.emplace_back(tag.substr(0, n));
    text_.clear();
    if (absl::EndsWith(tag, "/")) return EndTag(path_.back());
    return absl::OkStatus();
  }

  absl::Status EndTag(absl::string_view name) {
    if (path_.empty() || path_.back() != name) return Malformed("mismatched end tag");
    on_end_(path_, text_);
    text_.clear();
    path_.pop_back();
    if (path_.empty()) root_done_ = true;
    return absl::OkStatus();
  }

  absl::string_view xml_;
  const Callback& on_end_;
  size_t pos_ = 0;
  std::vector<std::string> path_;
  std::string text_;
  bool root_done_ = false;
};

}  // namespace

absl::Status WalkXml(absl::string_view xml,
                     const std::function<void(const std::vector<std::string>& path,
                                              const std::string& text)>& on_end) {
  return Walker(xml, on_end).Run();
}

absl::StatusOr<ListPage> ParseListObjectsV2(absl::string_view xml) {
  ListPage page;
  ObjectInfo current;
  bool bad_size = false;
  bool saw_root = false;
  absl::Status walked = WalkXml(xml, [&](const std::vector<std::string>& path,
                                         const std::string& text) {
    if (path[0] != "ListBucketResult") return;
    saw_root = true;
    if (path.size() == 2) {
      if (path[1] == "Contents") {
        page.objects.push_back(std::move(current));
        current = ObjectInfo();
      } else if (path[1] == "IsTruncated") {
        page.truncated = absl::StripAsciiWhitespace(text) == "true";
      } else if (path[1] == "NextContinuationToken") {
        page.next_continuation_token = text;
      }
    } else if (path.size() == 3 && path[1] == "Contents") {
      if (path[2] == "Key") current.key = text;
      std::string error;
      if (path[2] == "LastModified" &&
          !absl::ParseTime(absl::RFC3339_full, std::string(absl::StripAsciiWhitespace(text)),
                           &current.modified, &error)) {
        current.modified = absl::InfinitePast();  // unknown: an index is not trusted by date
      }
      if (path[2] == "Size" && !absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &current.size)) {
        bad_size = true;
      }
    }
  });
  RETURN_IF_ERROR(walked);
  if (!saw_root) return Malformed("not a ListBucketResult");
  if (bad_size) return Malformed("bad <Size>");
  for (const ObjectInfo& o : page.objects) {
    if (o.key.empty()) return Malformed("<Contents> without <Key>");
  }
  if (page.truncated && page.next_continuation_token.empty()) {
    return Malformed("truncated listing without <NextContinuationToken>");
  }
  return page;
}

ErrorBody ParseErrorBody(absl::string_view xml) {
  ErrorBody body;
  absl::Status walked =
      WalkXml(xml, [&](const std::vector<std::string>& path, const std::string& text) {
        if (path.size() != 2 || path[0] != "Error") return;
        if (path[1] == "Code") body.code = text;
        if (path[1] == "Message") body.message = text;
      });
  if (!walked.ok()) return ErrorBody();
  return body;
}

}  // namespace s3
}  // namespace storage
