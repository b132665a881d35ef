// A tiny deterministic stand-in for libFuzzer, so fuzz targets also run as
// ordinary tests in a g++ build. It runs LLVMFuzzerTestOneInput over a built-in
// seed corpus (real IMAP responses and mailbox names) plus any files or
// directories named on the command line, then over pseudo-random mutations of
// them until a run or time budget is spent.
//
//   target [-max_total_time=SECONDS] [-runs=N] [-seed=N] [FILE_OR_DIR...]
//
// Defaults: 20 seconds, 300000 runs, seed 1. Other -flags are ignored
// (libFuzzer's). Exits 0 when done; a target that finds a bug aborts, which the
// test reports.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

const char* const kSeeds[] = {
    "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ AUTH=PLAIN] Dovecot "
    "ready.\r\n",
    "* CAPABILITY IMAP4rev1 UIDPLUS MOVE CONDSTORE UTF8=ACCEPT\r\nA1 OK "
    "done\r\n",
    "* 5 FETCH (UID 10 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 "
    "-0700\" "
    "RFC822.SIZE 23 BODY[] {23}\r\nSubject: x\r\n\r\nhello\r\n)\r\n",
    "* 1 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID SUBJECT)] {30}\r\n"
    "Message-ID: <a@b>\r\nSubject: s\r\n BODY[]<0> ~{40}\r\n"
    "0123456789012345678901234567890123456789 UID 7)\r\n",
    "* 2 FETCH (BODY[HEADER.FIELDS (\"Message-ID\")] NIL BINARY[1] {0}\r\n "
    "FLAGS ())\r\n",
    "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n* LIST () NIL INBOX\r\n"
    "* LIST (\\Noselect) \".\" {5}\r\na\"b c\r\n",
    "* STATUS \"a b\" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 77)\r\n",
    "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n* ESEARCH (TAG \"A1\") UID ALL "
    "1:3\r\n",
    "* SEARCH\r\n* SEARCH 1 5 9\r\n* 3 EXISTS\r\n* 0 RECENT\r\n* 2 EXPUNGE\r\n",
    "* ID (\"name\" \"Dovecot\" \"version\" NIL)\r\n* ENABLED CONDSTORE\r\n"
    "* VANISHED (EARLIER) 1:3,5\r\n",
    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded "
    "Junk)\r\n"
    "* OK [PERMANENTFLAGS (\\Seen \\*)] Limited\r\n",
    "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n* OK [UIDNEXT 4392] next\r\n"
    "A2 OK [READ-WRITE] SELECT completed\r\n",
    "A3 OK [APPENDUID 38505 3955] APPEND completed\r\n"
    "A4 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
    "A5 NO [TRYCREATE] Mailbox \"x\" (doesn't) exist [really]\r\n"
    "A6 NO [OVERQUOTA] full\r\nA7 NO [LIMIT] slow\r\nA8 NO [X-FOO a \"b] ?\r\n",
    "a9 ok done\r\nA10 BAD [UNAVAILABLE]\r\nA11 NO [THROTTLED] later\r\n",
    "+ Ready for literal data\r\n+\r\n+ dGVzdA==\r\n",
    "* BYE Logging out\r\n* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n* NO [ALERT] "
    "x\r\n",
    "* LIST () \"/\" \"Entw\xc3\xbcrfe\"\n* LIST () \"/\" Gel&APY-schte\n",
    // mailbox names for the mUTF-7 target
    "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
    "Tom &- Jerry",
    "&AOk-&-x&2D3c5w-",
    "Entw\xc3\xbcrfe/\xf0\x9f\x93\xa7",
};

const char* const kTokens[] = {
    "{",
    "}",
    "{5}\r\n",
    "~{3}\r\n",
    "{0}\r\n",
    "{2+}\r\n",
    "{99999999999}\r\n",
    "{18446744073709551616}\r\n",
    "(",
    ")",
    "((((((",
    "\"",
    "\\",
    "[",
    "]",
    "\r\n",
    "\n",
    "\r",
    "" /* a NUL byte */,
    " ",
    "NIL",
    "* ",
    "A1 OK ",
    "+ ",
    "BODY[]",
    "BODY[HEADER.FIELDS (",
    "<0>",
    "* 1 FETCH (",
    "&",
    "-",
    "&AOk-",
    "&-",
    "\xc3\xa9",
    "\xf0\x9f\x93\xa7",
    "&2D3c5w-",
    "\xff",
    "&AGE-",
    // XML (s3_xml_fuzz) and JSON (config_fuzz)
    "</",
    "/>",
    "&amp;",
    "&#x",
    "<![CDATA[",
    "<!DOCTYPE r [<!ENTITY e \"x\">]>",
    "{\"",
    "\": ",
    "\\u0000",
    "1e999",
    "-0.5",
};

struct Options {
  double max_seconds = 20;
  uint64_t runs = 300000;
  uint64_t seed = 1;
  std::vector<std::string> paths;
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("-max_total_time=", 0) == 0) {
      o.max_seconds = std::atof(a.c_str() + 16);
    } else if (a.rfind("-runs=", 0) == 0) {
      o.runs = std::strtoull(a.c_str() + 6, nullptr, 10);
    } else if (a.rfind("-seed=", 0) == 0) {
      o.seed = std::strtoull(a.c_str() + 6, nullptr, 10);
    } else if (!a.empty() && a[0] != '-') {
      o.paths.push_back(a);
    }
  }
  return o;
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> LoadCorpus(const Options& o) {
  std::vector<std::string> corpus(std::begin(kSeeds), std::end(kSeeds));
  for (const std::string& path : o.paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());  // deterministic order
      for (const auto& f : files) corpus.push_back(ReadFile(f));
    } else if (std::filesystem::is_regular_file(path, ec)) {
      corpus.push_back(ReadFile(path));
    }
  }
  return corpus;
}

void Mutate(const std::vector<std::string>& corpus, std::mt19937_64* rng, std::string* s) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : (*rng)() % n; };
  size_t pos = pick(s->size() + 1);
  switch ((*rng)() % 8) {
    case 0:
      if (!s->empty()) (*s)[pick(s->size())] ^= static_cast<char>(1u << pick(8));
      break;
    case 1:
      s->insert(pos, 1, static_cast<char>((*rng)() & 0xff));
      break;
    case 2:
      s->erase(pos, 1 + pick(8));
      break;
    case 3: {
      std::string piece = s->substr(pos, 1 + pick(16));
      s->insert(pick(s->size() + 1), piece);
      break;
    }
    case 4:
    case 5: {
      const char* token = kTokens[pick(std::size(kTokens))];
      s->insert(pos, token[0] == '\0' ? std::string(1, '\0') : std::string(token));
      break;
    }
    case 6: {
      const std::string& other = corpus[pick(corpus.size())];
      *s = s->substr(0, pos) + other.substr(pick(other.size() + 1));
      break;
    }
    default:
      s->resize(pos);
      break;
  }
  if (s->size() > 8192) s->resize(8192);
}

void RunOne(const std::string& s) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  std::vector<std::string> corpus = LoadCorpus(o);
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  for (const std::string& s : corpus) RunOne(s);
  std::mt19937_64 rng(o.seed);
  uint64_t runs = corpus.size();
  while (runs < o.runs && ((runs & 63) != 0 || elapsed() < o.max_seconds)) {
    std::string s = corpus[rng() % corpus.size()];
    int rounds = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < rounds; ++i) Mutate(corpus, &rng, &s);
    RunOne(s);
    ++runs;
  }
  std::fprintf(stderr, "standalone fuzz driver: %llu inputs (%zu seeds) in %.1f s, ok\n",
               static_cast<unsigned long long>(runs), corpus.size(), elapsed());
  return 0;
}
