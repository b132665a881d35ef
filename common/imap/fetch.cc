// UID FETCH, pipelined, with message bodies streamed to a sink.
#include <deque>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/imap/collect_handler.h"
#include "common/imap/commands.h"
#include "common/imap/sequence_set.h"
#include "common/status/status_macros.h"

namespace imap {
namespace {

bool IsBodyKey(absl::string_view key) {
  return absl::EqualsIgnoreCase(key, "BODY[]") || absl::EqualsIgnoreCase(key, "RFC822") ||
         absl::EqualsIgnoreCase(key, "BINARY[]");
}

bool IsHeaderFieldsKey(absl::string_view key) {
  return absl::StartsWithIgnoreCase(key, "BODY[HEADER.FIELDS");
}

// An item's value as text, for the record: NIL and lists (which have no text) by name.
std::string RawText(const Value& v) {
  if (v.is_nil()) return "NIL";
  if (v.is_list()) return "(list)";
  return std::string(v.text());
}

class FetchHandler : public ResponseHandler {
 public:
  FetchHandler(FetchSink* sink, std::string peer) : sink_(sink), peer_(std::move(peer)) {}

  absl::Status OnLiteralBegin(const Event& e) override {
    streaming_body_ = e.literal_response_name == "FETCH" && IsBodyKey(e.literal_key);
    if (!streaming_body_) return absl::OkStatus();  // a large non-body literal: dropped
    return sink_->BodyBegin(e.literal_number.value_or(0), e.literal_size);
  }
  absl::Status OnLiteralData(absl::string_view chunk) override {
    return streaming_body_ ? sink_->BodyData(chunk) : absl::OkStatus();
  }
  absl::Status OnLiteralEnd() override {
    if (!streaming_body_) return absl::OkStatus();
    streaming_body_ = false;
    return sink_->BodyEnd();
  }

  absl::Status OnUntagged(const Response& r) override {
    if (r.status != StatusKind::kNone || r.name != "FETCH") return absl::OkStatus();
    if (!r.number || r.values.empty() || !r.values[0].is_list() ||
        r.values[0].list.size() % 2 != 0) {
      return absl::DataLossError(absl::StrCat("IMAP ", peer_, ": malformed FETCH response"));
    }
    FetchedMessage m;
    m.seq = *r.number;
    const auto& items = r.values[0].list;
    for (size_t i = 0; i < items.size(); i += 2) {
      RETURN_IF_ERROR(Item(items[i], items[i + 1], &m));
    }
    return sink_->OnMessage(m);
  }

 private:
  absl::Status Item(const Value& key, const Value& v, FetchedMessage* m) {
    if (key.IsAtom("UID")) {
      auto n = v.AsNumber();
      if (!n || *n == 0 || *n > UINT32_MAX) return Bad("UID");
      m->uid = static_cast<uint32_t>(*n);
    } else if (key.IsAtom("FLAGS")) {
      if (!v.is_list()) return Bad("FLAGS");
      for (const Value& f : v.list) {
        // \Recent is per-session state, not a flag that can be kept or set.
        if (!absl::EqualsIgnoreCase(f.text(), "\\Recent")) m->flags.emplace_back(f.text());
      }
    } else if (key.IsAtom("INTERNALDATE")) {
      m->internaldate = RawText(v);
    } else if (key.IsAtom("RFC822.SIZE")) {
      // Advisory only (the body's own length is what counts): a broken value is
      // handed on as sent instead of failing the response.
      m->has_size = true;
      auto n = v.AsNumber();
      if (n) {
        m->size = *n;
      } else {
        m->size_raw = RawText(v);
      }
    } else if (key.is_atom() && IsBodyKey(key.str)) {
      m->has_body = true;
      if (v.type == Value::Type::kStreamedLiteral) {
        m->body_size = v.literal_size;
      } else {
        // Inline (small) or NIL body: hand it over the same way as a streamed one.
        m->body_size = v.str.size();
        RETURN_IF_ERROR(sink_->BodyBegin(m->seq, v.str.size()));
        if (!v.str.empty()) RETURN_IF_ERROR(sink_->BodyData(v.str));
        RETURN_IF_ERROR(sink_->BodyEnd());
      }
    } else if (key.is_atom() && IsHeaderFieldsKey(key.str)) {
      m->message_id = HeaderValue(v.text(), "Message-ID");
      m->header_fields = std::string(v.text());
    } else if (key.IsAtom("X-GM-MSGID")) {
      auto n = v.AsNumber();
      if (!n) return Bad("X-GM-MSGID");
      m->gmail_msgid = *n;
    } else if (key.IsAtom("X-GM-LABELS")) {
      if (!v.is_list()) return Bad("X-GM-LABELS");
      m->has_gmail_labels = true;
      for (const Value& label : v.list) {
        if (label.is_list()) return Bad("X-GM-LABELS");
        if (!label.is_nil()) m->gmail_labels.emplace_back(label.text());
      }
    }
    return absl::OkStatus();
  }

  absl::Status Bad(absl::string_view item) {
    return absl::DataLossError(absl::StrCat("IMAP ", peer_, ": malformed ", item, " in FETCH"));
  }

  FetchSink* sink_;
  std::string peer_;
  bool streaming_body_ = false;
};

}  // namespace

std::string HeaderValue(absl::string_view header_block, absl::string_view name) {
  std::string value;
  bool in_field = false;
  size_t pos = 0;
  while (pos < header_block.size()) {
    size_t eol = header_block.find('\n', pos);
    if (eol == absl::string_view::npos) eol = header_block.size();
    absl::string_view line = header_block.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header
    const bool continuation = line[0] == ' ' || line[0] == '\t';
    if (in_field && continuation) {
      absl::StrAppend(&value, " ", absl::StripAsciiWhitespace(line));
      continue;
    }
    if (in_field) break;
    if (line.size() > name.size() && line[name.size()] == ':' &&
        absl::EqualsIgnoreCase(line.substr(0, name.size()), name)) {
      in_field = true;
      value = std::string(absl::StripAsciiWhitespace(line.substr(name.size() + 1)));
    }
  }
  return value;
}

namespace {
std::string FetchItems(const FetchOptions& options) {
  std::string items =
      options.attributes ? "(UID FLAGS INTERNALDATE RFC822.SIZE" : "(UID RFC822.SIZE";
  if (options.message_id || !options.header_fields.empty()) {
    std::string fields = options.message_id ? "MESSAGE-ID" : "";
    if (!options.header_fields.empty()) {
      absl::StrAppend(&fields, fields.empty() ? "" : " ", options.header_fields);
    }
    absl::StrAppend(&items, " BODY.PEEK[HEADER.FIELDS (", fields, ")]");
  }
  if (options.gmail) absl::StrAppend(&items, " X-GM-MSGID X-GM-LABELS");
  if (options.body) absl::StrAppend(&items, " BODY.PEEK[]");
  items.push_back(')');
  return items;
}
}  // namespace

absl::Status UidFetch(Session& session, const std::vector<uint32_t>& uids,
                      const FetchOptions& options, FetchSink* sink) {
  const std::string items = FetchItems(options);
  FetchHandler handler(sink, session.peer());
  const size_t per = std::max<size_t>(1, options.uids_per_command);
  const size_t window = std::max<size_t>(1, options.max_in_flight);
  std::deque<std::string> pending;
  absl::Status first_error;
  auto collect = [&]() -> absl::Status {
    auto r = session.Wait(pending.front());
    pending.pop_front();
    if (!r.ok()) return r.status();  // the session is broken: stop
    absl::Status st = session.ResultToStatus(*r, "UID FETCH");
    if (first_error.ok()) first_error = st;
    return absl::OkStatus();
  };
  for (size_t i = 0; i < uids.size(); i += per) {
    std::vector<uint32_t> chunk(uids.begin() + i, uids.begin() + std::min(uids.size(), i + per));
    while (pending.size() >= window) RETURN_IF_ERROR(collect());
    Command cmd("UID FETCH");
    cmd.Atom(FormatSequenceSet(chunk)).Atom(items);
    ASSIGN_OR_RETURN(std::string tag, session.Send(cmd, &handler));
    pending.push_back(std::move(tag));
  }
  while (!pending.empty()) RETURN_IF_ERROR(collect());
  return first_error;
}

absl::StatusOr<std::vector<absl::Status>> AddGmailLabels(
    Session& session, const std::vector<std::pair<uint32_t, std::vector<std::string>>>& labels) {
  std::vector<std::string> tags;
  for (const auto& [uid, names] : labels) {
    std::string list = "(";
    for (const std::string& name : names) {
      if (list.size() > 1) list.push_back(' ');
      // A system label is an atom ("\\Inbox"); quoted it would be a user label of that name.
      list += absl::StartsWith(name, "\\") && IsFlagSafe(name) ? name : Quote(name);
    }
    list.push_back(')');
    Command cmd("UID STORE");
    cmd.Number(uid).Atom("+X-GM-LABELS").Atom(list);
    ASSIGN_OR_RETURN(std::string tag, session.Send(cmd));
    tags.push_back(std::move(tag));
  }
  std::vector<absl::Status> out;
  for (size_t i = 0; i < tags.size(); ++i) {
    ASSIGN_OR_RETURN(CommandResult r, session.Wait(tags[i]));
    out.push_back(status::Annotate(session.ResultToStatus(r, "UID STORE +X-GM-LABELS"),
                                   absl::StrCat("UID ", labels[i].first)));
  }
  return out;
}

}  // namespace imap

namespace imap {
namespace {

// Forwards FETCH data to the caller's sink once the SELECT sent just before it
// completed OK (its responses precede the FETCH's), calling on_selected first.
class SelectedGate : public FetchSink {
 public:
  SelectedGate(Session& session, std::string mailbox, std::string select_tag, SelectHandler& select,
               FetchSink* sink, const SelectedCallback& on_selected)
      : session_(session),
        mailbox_(std::move(mailbox)),
        select_tag_(std::move(select_tag)),
        select_(select),
        sink_(sink),
        on_selected_(on_selected) {}

  // Runs on_selected once; `result` is the SELECT's completion. Its outcome
  // stays: after a failure, FETCH data fails the session instead of reaching
  // the sink.
  absl::Status Open(const CommandResult& result) {
    if (opened_) return open_status_;
    opened_ = true;
    auto box = select_.Finish(session_, mailbox_, result);
    if (box.ok()) box_ = *box;
    open_status_ = box.ok() ? on_selected_(box_) : box.status();
    return open_status_;
  }
  absl::Status BodyBegin(uint64_t seq, uint64_t size) override {
    RETURN_IF_ERROR(OpenFromSession());
    return sink_->BodyBegin(seq, size);
  }
  absl::Status BodyData(absl::string_view chunk) override { return sink_->BodyData(chunk); }
  absl::Status BodyEnd() override { return sink_->BodyEnd(); }
  absl::Status OnMessage(const FetchedMessage& m) override {
    RETURN_IF_ERROR(OpenFromSession());
    return sink_->OnMessage(m);
  }
  const SelectedMailbox& box() const { return box_; }

 private:
  // Data processed in the same read as the SELECT's completion arrives before
  // the caller collected that completion: it is still in the session.
  absl::Status OpenFromSession() {
    if (opened_) return open_status_;
    const CommandResult* r = session_.Peek(select_tag_);
    if (r == nullptr) {
      return absl::DataLossError(absl::StrCat("IMAP ", session_.peer(), ": FETCH data for '",
                                              mailbox_, "' before its SELECT completed"));
    }
    return Open(*r);
  }

  Session& session_;
  const std::string mailbox_;
  const std::string select_tag_;
  SelectHandler& select_;
  FetchSink* sink_;
  const SelectedCallback& on_selected_;
  bool opened_ = false;
  absl::Status open_status_;
  SelectedMailbox box_;
};

// The handlers of one SELECT + UID FETCH pair in flight.
struct PairInFlight {
  explicit PairInFlight(bool read_only) : select(read_only) {}
  SelectHandler select;
  std::unique_ptr<SelectedGate> gate;
  std::unique_ptr<FetchHandler> fetch;
  std::string select_tag, fetch_tag;
};

const SelectedCallback& NoCallback() {
  static const SelectedCallback* none =
      new SelectedCallback([](const SelectedMailbox&) { return absl::OkStatus(); });
  return *none;
}

}  // namespace

absl::Status SelectAndFetchMany(Session& session, std::vector<MailboxFetch>& requests) {
  // Handlers stay where they are while the session refers to them; an error from Send or
  // Wait means the session is closed and refers to none of them any more.
  std::vector<std::unique_ptr<PairInFlight>> pairs;
  for (MailboxFetch& r : requests) {
    auto p = std::make_unique<PairInFlight>(r.read_only);
    Command select(r.read_only ? "EXAMINE" : "SELECT");
    select.AString(r.mailbox);
    ASSIGN_OR_RETURN(p->select_tag, session.Send(select, &p->select));
    p->gate = std::make_unique<SelectedGate>(session, r.mailbox, p->select_tag, p->select, r.sink,
                                             r.on_selected ? r.on_selected : NoCallback());
    p->fetch = std::make_unique<FetchHandler>(p->gate.get(), session.peer());
    Command fetch("UID FETCH");
    fetch.Atom(r.uid_set).Atom(FetchItems(r.options));
    ASSIGN_OR_RETURN(p->fetch_tag, session.Send(fetch, p->fetch.get()));
    pairs.push_back(std::move(p));
  }
  for (size_t i = 0; i < pairs.size(); ++i) {
    PairInFlight& p = *pairs[i];
    ASSIGN_OR_RETURN(CommandResult selected, session.Wait(p.select_tag));
    absl::Status opened = p.gate->Open(selected);  // also when no message comes
    auto fetched = session.Wait(p.fetch_tag);
    MailboxFetch& r = requests[i];
    if (!opened.ok()) {  // the SELECT's own error, even when the session broke after it
      r.result = opened;
      r.ran = true;
    }
    ASSIGN_OR_RETURN(CommandResult fetch_result, std::move(fetched));
    if (!opened.ok()) continue;
    absl::Status st = session.ResultToStatus(fetch_result, "UID FETCH");
    r.result =
        st.ok() || p.gate->box().exists == 0 ? absl::StatusOr<SelectedMailbox>(p.gate->box()) : st;
    r.ran = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<SelectedMailbox> SelectAndFetch(Session& session, absl::string_view mailbox,
                                               bool read_only, absl::string_view uid_set,
                                               const FetchOptions& options, FetchSink* sink,
                                               const SelectedCallback& on_selected) {
  std::vector<MailboxFetch> one(1);
  one[0].mailbox = std::string(mailbox);
  one[0].read_only = read_only;
  one[0].uid_set = std::string(uid_set);
  one[0].options = options;
  one[0].sink = sink;
  one[0].on_selected = on_selected;
  absl::Status st = SelectAndFetchMany(session, one);
  if (!st.ok() && !one[0].ran) return st;
  return std::move(one[0].result);
}

}  // namespace imap
