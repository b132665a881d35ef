// The S3 XML reader (see s3_xml.h): expat does the XML; this file refuses what the store
// never needs (DTDs, entity declarations), bounds depth and text, and picks the fields.
#include "common/storage/s3_xml.h"

#include <expat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status/status_macros.h"

namespace storage {
namespace s3 {
namespace {

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed XML: ", what));
}

// Bytes handed to expat per XML_Parse call (its length argument is an int).
constexpr size_t kFeedBytes = 1 << 20;
// Bytes of an element name an error shows.
constexpr size_t kMaxShownName = 64;

// The state of one WalkXml pass: expat's callbacks land here. A refusal stops the parser
// (XML_StopParser) and keeps its own message in `refused_`.
class Walker {
 public:
  using Callback = std::function<void(const std::vector<std::string>&, const std::string&)>;

  explicit Walker(const Callback& on_end) : on_end_(on_end), parser_(XML_ParserCreate(nullptr)) {}
  ~Walker() {
    if (parser_ != nullptr) XML_ParserFree(parser_);
  }
  Walker(const Walker&) = delete;
  Walker& operator=(const Walker&) = delete;

  absl::Status Run(absl::string_view xml) {
    if (parser_ == nullptr) return absl::ResourceExhaustedError("XML parser: out of memory");
    XML_SetUserData(parser_, this);
    XML_SetElementHandler(parser_, &Walker::OnStart, &Walker::OnEnd);
    XML_SetCharacterDataHandler(parser_, &Walker::OnText);
    // Any DTD is refused before its content is read: no entity is ever declared, so none
    // can expand (billion laughs) or name an external resource.
    XML_SetStartDoctypeDeclHandler(parser_, &Walker::OnDoctype);
    XML_SetEntityDeclHandler(parser_, &Walker::OnEntityDecl);
    XML_SetParamEntityParsing(parser_, XML_PARAM_ENTITY_PARSING_NEVER);
    size_t pos = 0;
    do {
      size_t n = std::min(kFeedBytes, xml.size() - pos);
      bool last = pos + n == xml.size();
      if (XML_Parse(parser_, xml.data() + pos, static_cast<int>(n), last) != XML_STATUS_OK) {
        return Error();
      }
      pos += n;
    } while (pos < xml.size());
    return absl::OkStatus();
  }

 private:
  static Walker* Self(void* data) { return static_cast<Walker*>(data); }

  // After a refusal expat may still deliver a few callbacks (XML_StopParser's contract);
  // they are ignored.
  static void OnStart(void* data, const XML_Char* name, const XML_Char** /*attributes*/) {
    Walker* w = Self(data);
    if (!w->refused_.empty()) return;
    if (w->path_.size() >= static_cast<size_t>(kMaxXmlDepth)) {
      return w->Refuse(absl::StrCat("nested deeper than ", kMaxXmlDepth, " elements"));
    }
    w->path_.emplace_back(name);
    w->text_.clear();
  }

  static void OnEnd(void* data, const XML_Char* /*name*/) {
    Walker* w = Self(data);  // expat has checked that the name matches its start tag
    if (!w->refused_.empty() || w->path_.empty()) return;
    w->on_end_(w->path_, w->text_);
    w->text_.clear();
    w->path_.pop_back();
  }

  static void OnText(void* data, const XML_Char* s, int len) {
    Walker* w = Self(data);
    if (!w->refused_.empty() || w->path_.empty()) return;
    if (w->text_.size() + static_cast<size_t>(len) > kMaxXmlText) {
      absl::string_view name = w->path_.back();
      return w->Refuse(absl::StrCat("text of <", name.substr(0, kMaxShownName), "> longer than ",
                                    kMaxXmlText, " bytes"));
    }
    w->text_.append(s, static_cast<size_t>(len));
  }

  static void OnDoctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    Self(data)->Refuse("document type declaration (DTD) not allowed");
  }

  static void OnEntityDecl(void* data, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                           const XML_Char*, const XML_Char*, const XML_Char*) {
    Self(data)->Refuse("entity declaration not allowed");
  }

  void Refuse(std::string why) {
    if (refused_.empty()) refused_ = std::move(why);
    XML_StopParser(parser_, XML_FALSE);
  }

  absl::Status Error() const {
    std::string where = absl::StrCat(" at line ", XML_GetCurrentLineNumber(parser_), ", column ",
                                     XML_GetCurrentColumnNumber(parser_));
    if (!refused_.empty()) return Malformed(refused_ + where);
    return Malformed(XML_ErrorString(XML_GetErrorCode(parser_)) + where);
  }

  const Callback& on_end_;
  XML_Parser parser_;
  std::vector<std::string> path_;
  std::string text_;
  std::string refused_;
};

// Raw control bytes are not XML 1.0, but S3 sends a key holding them as they are. Read as
// DEL (0x7f) such a key stays one that ValidateKey refuses, so the store skips it instead
// of failing the whole listing.
std::string ControlBytesAsDel(absl::string_view xml) {
  std::string out(xml);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') c = '\x7f';
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> XmlUnescape(absl::string_view text) {
  // One element around the text: expat decodes its references and refuses bad ones. No '<'
  // may appear in character data, so none can open markup here.
  if (text.find('<') != absl::string_view::npos) return Malformed("'<' in character data");
  std::string decoded;
  RETURN_IF_ERROR(
      WalkXml(absl::StrCat("<t>", text, "</t>"),
              [&](const std::vector<std::string>&, const std::string& t) { decoded = t; }));
  return decoded;
}

absl::Status WalkXml(absl::string_view xml,
                     const std::function<void(const std::vector<std::string>& path,
                                              const std::string& text)>& on_end) {
  return Walker(on_end).Run(xml);
}

absl::StatusOr<ListPage> ParseListObjectsV2(absl::string_view xml) {
  ListPage page;
  ObjectInfo current;
  bool bad_size = false;
  bool saw_root = false;
  absl::Status walked = WalkXml(ControlBytesAsDel(xml), [&](const std::vector<std::string>& path,
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
