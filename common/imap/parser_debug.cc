#include "common/imap/parser_debug.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "common/imap/parser_internal.h"

namespace imap {
namespace {

constexpr size_t kAll = std::numeric_limits<size_t>::max();

std::string Quote(absl::string_view s) {
  return absl::StrCat("\"", parser_internal::Excerpt(s, kAll), "\"");
}

void AppendValue(const Value& value, std::string* out) {
  switch (value.type) {
    case Value::Type::kAtom:
      absl::StrAppend(out, parser_internal::Excerpt(value.str, kAll));
      return;
    case Value::Type::kString:
      absl::StrAppend(out, Quote(value.str));
      return;
    case Value::Type::kNil:
      absl::StrAppend(out, "NIL");
      return;
    case Value::Type::kStreamedLiteral:
      absl::StrAppend(out, "{", value.literal_size, "}~streamed");
      return;
    case Value::Type::kList:
      out->push_back('(');
      for (size_t i = 0; i < value.list.size(); ++i) {
        if (i > 0) out->push_back(' ');
        AppendValue(value.list[i], out);
      }
      out->push_back(')');
      return;
  }
}

const char* TypeName(ResponseType type) {
  switch (type) {
    case ResponseType::kUntagged:
      return "untagged";
    case ResponseType::kTagged:
      return "tagged";
    case ResponseType::kContinuation:
      return "continuation";
  }
  return "?";
}

}  // namespace

std::string DebugString(const Value& value) {
  std::string out;
  AppendValue(value, &out);
  return out;
}

std::string DebugString(const Response& r) {
  std::string out = TypeName(r.type);
  if (r.type == ResponseType::kTagged) absl::StrAppend(&out, " tag=", Quote(r.tag));
  if (r.status != StatusKind::kNone) {
    absl::StrAppend(&out, " status=", StatusKindName(r.status));
  }
  if (r.code.has_value()) {
    absl::StrAppend(&out, " code=[", Quote(r.code->name), " raw=", Quote(r.code->raw_args),
                    " args=(");
    for (size_t i = 0; i < r.code->args.size(); ++i) {
      if (i > 0) out.push_back(' ');
      AppendValue(r.code->args[i], &out);
    }
    out += ")]";
  }
  if (r.status != StatusKind::kNone || r.type == ResponseType::kContinuation) {
    absl::StrAppend(&out, " text=", Quote(r.text));
  }
  if (r.number.has_value()) absl::StrAppend(&out, " number=", *r.number);
  if (!r.name.empty()) absl::StrAppend(&out, " name=", Quote(r.name));
  if (r.status == StatusKind::kNone && r.type == ResponseType::kUntagged) {
    out += " values=(";
    for (size_t i = 0; i < r.values.size(); ++i) {
      if (i > 0) out.push_back(' ');
      AppendValue(r.values[i], &out);
    }
    out += ")";
  }
  return out;
}

std::string DebugString(const Event& e) {
  switch (e.type) {
    case Event::Type::kNeedMore:
      return "need-more";
    case Event::Type::kResponse:
      return absl::StrCat("response: ", DebugString(e.response));
    case Event::Type::kLiteralBegin:
      return absl::StrCat("literal-begin size=", e.literal_size, " number=",
                          e.literal_number.has_value() ? absl::StrCat(*e.literal_number) : "none",
                          " name=", Quote(e.literal_response_name), " key=", Quote(e.literal_key));
    case Event::Type::kLiteralData:
      return absl::StrCat("literal-data ", Quote(e.data));
    case Event::Type::kLiteralEnd:
      return "literal-end";
  }
  return "?";
}

}  // namespace imap
