// S3Store against a real S3 server (s3rver) behind a proxy that verifies every request's
// SigV4 signature with botocore. Exits 77 (ctest: skipped) only when s3rver cannot be
// installed.
#include "common/storage/s3_store.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"
#include "common/storage/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/s3/s3_test_server.h"

namespace storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;  // freed memory sits in ASan's quarantine: RSS is meaningless
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

testing_s3::S3TestServer* g_server = nullptr;

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(g_server, nullptr);
    ASSERT_TRUE(g_server->ResetStats().ok());
    // Each test under its own prefix: they share one bucket.
    prefix_ = absl::StrCat("t/", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    store_ = MakeStore(g_server->Options(prefix_));
  }

  static std::unique_ptr<S3Store> MakeStore(S3Options options) {
    auto store = S3Store::Create(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  static std::vector<std::string> Keys(const std::vector<ObjectInfo>& objects) {
    std::vector<std::string> keys;
    for (const ObjectInfo& o : objects) keys.push_back(o.key);
    return keys;
  }

  static testing_s3::ProxyStats Stats() {
    auto stats = g_server->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : testing_s3::ProxyStats();
  }

  std::string prefix_;
  std::unique_ptr<S3Store> store_;
};

// Deterministic pseudo-random bytes (xorshift), `n` of them starting at stream offset.
std::string Bytes(uint64_t seed, size_t n) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

std::string ReadAll(Reader* reader) {
  std::string out;
  char buf[7000];  // deliberately not a divisor of the chunk size
  for (;;) {
    auto n = reader->Read(buf, sizeof(buf));
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok() || *n == 0) return out;
    out.append(buf, *n);
  }
}

// Peak resident set size of this process in KiB (VmHWM).
int64_t PeakRssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0); false when not possible.
bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

TEST_F(S3StoreTest, PutGetRoundTrip) {
  const std::string key = "a@example.com/INBOX/1700000000-0000000042.eml";
  const std::string data = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
  ASSERT_TRUE(store_->Put(key, data).ok());
  auto got = store_->Get(key);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, data);
  EXPECT_TRUE(*store_->Exists(key));
  auto reader = store_->Open(key);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->size(), data.size());
  EXPECT_EQ(ReadAll(reader->get()), data);
  auto listed = store_->List("a@example.com/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, key);
  EXPECT_EQ((*listed)[0].size, data.size());
  // Overwrite, then an empty object (S3 answers 416 to a range of an empty object).
  ASSERT_TRUE(store_->Put(key, "v2").ok());
  EXPECT_EQ(*store_->Get(key), "v2");
  ASSERT_TRUE(store_->Put("empty.json", "").ok());
  EXPECT_EQ(*store_->Get("empty.json"), "");
  auto empty = store_->Open("empty.json");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ((*empty)->size(), 0u);
  EXPECT_EQ(ReadAll(empty->get()), "");
  testing_s3::ProxyStats stats = Stats();
  EXPECT_EQ(stats.rejected, 0);
  EXPECT_GE(stats.verified, 10);
}

TEST_F(S3StoreTest, MissingObjectsAreNotFound) {
  auto got = store_->Get("no/such.eml");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("no/such.eml"));
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("NoSuchKey"));
  EXPECT_EQ(store_->Open("no/such.eml").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(*store_->Exists("no/such.eml"));
  EXPECT_THAT(*store_->List(""), IsEmpty());
  EXPECT_THAT(*store_->List("no/"), IsEmpty());
}

TEST_F(S3StoreTest, CommitAsAndWriterLifecycle) {
  auto writer = store_->NewWriter("acct/INBOX/pending.eml");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append("part one, ").ok());
  ASSERT_TRUE((*writer)->Append("part two").ok());
  EXPECT_EQ((*writer)->bytes_written(), 18u);
  EXPECT_FALSE(*store_->Exists("acct/INBOX/pending.eml"));
  EXPECT_EQ((*writer)->CommitAs("../bad").code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*writer)->CommitAs("acct/Other/final-42.eml").ok());
  EXPECT_EQ(*store_->Get("acct/Other/final-42.eml"), "part one, part two");
  EXPECT_FALSE(*store_->Exists("acct/INBOX/pending.eml"));
  EXPECT_EQ((*writer)->Append("more").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*writer)->Commit().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Keys(*store_->List("")), ElementsAre("acct/Other/final-42.eml"));
}

TEST_F(S3StoreTest, UncommittedWriterLeavesNothing) {
  {
    S3Options o = g_server->Options(prefix_);
    o.memory_buffer_bytes = 64 * 1024;  // spills to a temp file
    auto store = MakeStore(o);
    auto writer = store->NewWriter("x/never.eml");
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append(Bytes(1, 300 * 1024)).ok());
  }
  EXPECT_THAT(*store_->List(""), IsEmpty());
  EXPECT_FALSE(*store_->Exists("x/never.eml"));
  EXPECT_EQ(Stats().by_method.count("PUT"), 0u);
}

TEST_F(S3StoreTest, LargeObjectStreamsWithBoundedMemory) {
  constexpr size_t kTotal = 20 << 20;
  constexpr size_t kPiece = 64 * 1024;
  S3Options o = g_server->Options(prefix_);
  o.memory_buffer_bytes = 1 << 20;
  o.read_chunk_bytes = 1 << 20;
  auto store = MakeStore(o);
  bool peak_reset = ResetPeakRss();
  int64_t before_kib = PeakRssKib();
  crypto::Sha256 written;
  auto writer = store->NewWriter("big/20mb.eml");
  ASSERT_TRUE(writer.ok());
  for (size_t off = 0; off < kTotal; off += kPiece) {
    std::string piece = Bytes(off, kPiece);
    written.Update(piece);
    ASSERT_TRUE((*writer)->Append(piece).ok());
  }
  ASSERT_TRUE((*writer)->Commit().ok());
  auto reader = store->Open("big/20mb.eml");
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_EQ((*reader)->size(), kTotal);
  crypto::Sha256 read;
  std::vector<char> buf(kPiece);
  uint64_t total = 0;
  for (;;) {
    auto n = (*reader)->Read(buf.data(), buf.size());
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    read.Update(absl::string_view(buf.data(), *n));
    total += *n;
  }
  EXPECT_EQ(total, kTotal);
  EXPECT_EQ(read.HexDigest(), written.HexDigest());
  // One GET per 1 MiB chunk (the first cut off, the rest ranged): never the whole object.
  EXPECT_GE(Stats().by_method["GET"], 20);
  if (peak_reset && before_kib > 0 && !kAsan) {
    int64_t grew_kib = PeakRssKib() - before_kib;
    EXPECT_LT(grew_kib, 12 * 1024) << "peak RSS grew by " << grew_kib << " KiB";
  }
  auto listed = store->List("big/");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].size, kTotal);
}

TEST_F(S3StoreTest, ObjectReplacedWhileReadingIsAborted) {
  S3Options o = g_server->Options(prefix_);
  o.read_chunk_bytes = 64 * 1024;
  auto store = MakeStore(o);
  ASSERT_TRUE(store->Put("k.eml", Bytes(1, 200 * 1024)).ok());
  auto reader = store->Open("k.eml");
  ASSERT_TRUE(reader.ok());
  std::vector<char> buf(64 * 1024);
  ASSERT_EQ(*(*reader)->Read(buf.data(), buf.size()), buf.size());
  ASSERT_TRUE(store->Put("k.eml", Bytes(2, 200 * 1024)).ok());
  auto n = (*reader)->Read(buf.data(), buf.size());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kAborted) << n.status();
}

TEST_F(S3StoreTest, ListPaginatesPastOneThousandKeysConcurrently) {
  constexpr int kKeys = 1100;
  constexpr int kThreads = 8;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kKeys; i += kThreads) {
        std::string key = absl::StrCat("acct/F", i % 3, "/", 100000 + i, ".json");
        if (!store_->Put(key, absl::StrCat(i)).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_TRUE(store_->Put("acctX/not-listed.json", "x").ok());
  ASSERT_TRUE(g_server->ResetStats().ok());
  auto all = store_->List("acct/");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), static_cast<size_t>(kKeys));
  EXPECT_TRUE(
      std::is_sorted(all->begin(), all->end(),
                     [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; }));
  EXPECT_EQ(Stats().by_method["GET"], 2);  // 1000 + 100
  // Smaller pages, from several threads at once.
  S3Options o = g_server->Options(prefix_);
  o.list_page_size = 100;
  auto paged = MakeStore(o);
  std::vector<std::thread> listers;
  for (int t = 0; t < 4; ++t) {
    listers.emplace_back([&] {
      auto r = paged->List("acct/F1/");
      if (!r.ok() || r->size() != 367u) ++failures;
    });
  }
  for (std::thread& t : listers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->List("").value().size(), static_cast<size_t>(kKeys + 1));
}

TEST_F(S3StoreTest, AwkwardKeysRoundTrip) {
  const std::vector<std::string> keys = {
      "R\xc3\xa9sum\xc3\xa9/it's 100% done.eml",
      "a b/c+d~e*f(g)h!i.json",
      "pct/%2F%25%41 literal.eml",
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/\xe3\x83\xa1\xe3\x83\xbc\xe3\x83\xab.eml",
      "punct/semi;colon,comma=eq&amp@at$dollar:colon.eml",
      "plus/+/++ +.eml",
      "tilde/~user/~.eml",
      "quotes/\"dq\" 'sq' `bq`.eml",
      "brackets/[x]{y}<z>^|.eml",
      "hash/#frag?query=1&x.eml",
      "back\\slash/x.eml",
      "emoji/\xf0\x9f\x93\xa7 mail.eml",
  };
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(store_->Put(keys[i], absl::StrCat("value ", i)).ok()) << keys[i];
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    auto got = store_->Get(keys[i]);
    ASSERT_TRUE(got.ok()) << keys[i] << ": " << got.status();
    EXPECT_EQ(*got, absl::StrCat("value ", i)) << keys[i];
    EXPECT_TRUE(*store_->Exists(keys[i])) << keys[i];
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(Keys(*store_->List("")), sorted);
  EXPECT_THAT(Keys(*store_->List("plus/+/")), ElementsAre("plus/+/++ +.eml"));
  EXPECT_THAT(Keys(*store_->List("a b/")), ElementsAre("a b/c+d~e*f(g)h!i.json"));
  for (const std::string& key : keys) ASSERT_TRUE(store_->Delete(key).ok()) << key;
  EXPECT_THAT(*store_->List(""), IsEmpty());
  EXPECT_EQ(Stats().rejected, 0);
}

TEST_F(S3StoreTest, DeleteIsIdempotentAndExistsFollows) {
  ASSERT_TRUE(store_->Put("d/k.eml", "v").ok());
  EXPECT_TRUE(*store_->Exists("d/k.eml"));
  ASSERT_TRUE(store_->Delete("d/k.eml").ok());
  EXPECT_FALSE(*store_->Exists("d/k.eml"));
  EXPECT_TRUE(store_->Delete("d/k.eml").ok());
  EXPECT_TRUE(store_->Delete("never/existed.eml").ok());
  EXPECT_EQ(store_->Get("d/k.eml").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(S3StoreTest, StorePrefixIsolatesAndDescribe) {
  S3Options o = g_server->Options(prefix_ + "/inner");
  auto inner = MakeStore(o);
  ASSERT_TRUE(inner->Put("k.eml", "inner").ok());
  ASSERT_TRUE(store_->Put("k.eml", "outer").ok());
  EXPECT_EQ(*inner->Get("k.eml"), "inner");
  EXPECT_THAT(Keys(*inner->List("")), ElementsAre("k.eml"));
  EXPECT_THAT(Keys(*store_->List("")), ElementsAre("inner/k.eml", "k.eml"));
  EXPECT_EQ(inner->Describe(), absl::StrCat("s3://", g_server->bucket(), "/", prefix_, "/inner"));
}

TEST_F(S3StoreTest, VirtualHostedAddressing) {
  // bucket.s3.amazonaws.com:PORT, connected to the local proxy instead: s3rver takes the
  // bucket from the Host header (as AWS does), the proxy checks the signature over it.
  std::string port = g_server->endpoint().substr(g_server->endpoint().rfind(':') + 1);
  S3Options o = g_server->Options(prefix_);
  o.endpoint = "http://s3.amazonaws.com:" + port;
  o.path_style = false;
  o.http.connect_to = {
      absl::StrCat(g_server->bucket(), ".s3.amazonaws.com:", port, ":127.0.0.1:", port)};
  auto vhost = MakeStore(o);
  ASSERT_TRUE(vhost->Put("v/a b+c.eml", "vhost").ok());
  EXPECT_EQ(*store_->Get("v/a b+c.eml"), "vhost");
  EXPECT_EQ(*vhost->Get("v/a b+c.eml"), "vhost");
  EXPECT_THAT(Keys(*vhost->List("v/")), ElementsAre("v/a b+c.eml"));
  EXPECT_TRUE(vhost->Delete("v/a b+c.eml").ok());
  EXPECT_FALSE(*store_->Exists("v/a b+c.eml"));
  EXPECT_EQ(Stats().rejected, 0);
}

TEST_F(S3StoreTest, VerifierRefusesAWrongSecret) {
  S3Options o = g_server->Options(prefix_);
  o.credentials.secret_access_key = "WRONG-SECRET-VALUE";
  auto bad = MakeStore(o);
  absl::Status s = bad->Put("k.eml", "v");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("SignatureDoesNotMatch"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("k.eml"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("WRONG-SECRET-VALUE")));
  EXPECT_EQ(bad->Get("k.eml").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(bad->List("").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(bad->Exists("k.eml").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Stats().rejected, 4);
  EXPECT_FALSE(*store_->Exists("k.eml"));
  // s3rver alone would have accepted it: the proxy is what checks.
  o.endpoint = g_server->direct_endpoint();
  EXPECT_TRUE(MakeStore(o)->Put("k.eml", "v").ok());
  // An unknown access key is refused too; a session token is signed and accepted.
  o = g_server->Options(prefix_);
  o.credentials.access_key_id = "NOBODY";
  EXPECT_EQ(MakeStore(o)->Put("k.eml", "v").code(), absl::StatusCode::kPermissionDenied);
  o = g_server->Options(prefix_);
  o.credentials.session_token = "FwoGZXIvYXdzE/token+with=odd/chars";
  EXPECT_TRUE(MakeStore(o)->Put("t.eml", "v").ok());
}

TEST_F(S3StoreTest, RetriesTransientErrorsAndMapsCodes) {
  ASSERT_TRUE(g_server->Inject(503, "SlowDown", 2, "PUT").ok());
  EXPECT_TRUE(store_->Put("r/1.eml", "v").ok());  // third attempt succeeds
  EXPECT_EQ(Stats().injected, 2);
  ASSERT_TRUE(g_server->Inject(500, "InternalError", 3).ok());
  absl::Status s = store_->Put("r/2.eml", "v");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("InternalError"));
  ASSERT_TRUE(g_server->Inject(507, "InsufficientStorage", 1).ok());
  EXPECT_EQ(store_->Put("r/3.eml", "v").code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(g_server->Inject(400, "EntityTooLarge", 1).ok());
  EXPECT_EQ(store_->Put("r/4.eml", "v").code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(g_server->Inject(403, "QuotaExceeded", 1).ok());
  EXPECT_EQ(store_->Put("r/5.eml", "v").code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(g_server->ResetStats().ok());
  ASSERT_TRUE(g_server->Inject(403, "AccessDenied", 5).ok());
  EXPECT_EQ(store_->Get("r/1.eml").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Stats().injected, 1);  // not retried
  ASSERT_TRUE(g_server->ResetStats().ok());
  ASSERT_TRUE(g_server->Inject(503, "ServiceUnavailable", 1, "GET").ok());
  auto got = store_->Get("r/1.eml");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "v");
  EXPECT_TRUE(*store_->Exists("r/1.eml"));
  EXPECT_FALSE(*store_->Exists("r/2.eml"));
}

// A reset (the connection closed without a reply) and a reply later than the request
// timeout are retried per request, like a 503 SlowDown, and counted.
TEST_F(S3StoreTest, RetriesResetsAndTimeoutsPerRequest) {
  S3Options o = g_server->Options(prefix_);
  o.http.request_timeout = absl::Milliseconds(400);
  auto store = MakeStore(o);
  ASSERT_TRUE(g_server->ResetStats().ok());
  ASSERT_TRUE(g_server->Inject(0, "", 2, "PUT").ok());  // two resets
  EXPECT_TRUE(store->Put("t/1.eml", "v").ok());
  ASSERT_TRUE(g_server->Inject(0, "", 1, "GET", 1500).ok());  // past the timeout
  auto got = store->Get("t/1.eml");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "v");
  ASSERT_TRUE(g_server->Inject(503, "SlowDown", 1, "GET").ok());
  EXPECT_TRUE(store->Get("t/1.eml").ok());
  EXPECT_EQ(Stats().injected, 4);
  // libcurl itself may retry a reset on a reused connection once; the timeout and the 503
  // are the store's.
  EXPECT_GE(store->request_counts().retries, 3u);
}

TEST_F(S3StoreTest, ServerDownIsUnavailableNamingTheEndpoint) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);  // nobody listens there now
  std::string endpoint = absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port));
  S3Options o = g_server->Options(prefix_);
  o.endpoint = endpoint;
  auto down = MakeStore(o);
  absl::Status put = down->Put("k.eml", "v");
  EXPECT_EQ(put.code(), absl::StatusCode::kUnavailable) << put;
  EXPECT_THAT(std::string(put.message()), HasSubstr(endpoint));
  EXPECT_THAT(std::string(put.message()), HasSubstr("k.eml"));
  EXPECT_EQ(down->Get("k.eml").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(down->Open("k.eml").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(down->Exists("k.eml").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(down->List("").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(down->Delete("k.eml").code(), absl::StatusCode::kUnavailable);
}

TEST_F(S3StoreTest, OpenStoreFromEnvironment) {
  ::setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
  ::unsetenv("AWS_SESSION_TOKEN");
  ::setenv("AWS_REGION", "us-east-1", 1);
  ::setenv("S3_ENDPOINT", g_server->endpoint().c_str(), 1);
  ::unsetenv("AWS_ENDPOINT_URL");
  ::unsetenv("AWS_ENDPOINT_URL_S3");
  std::string location = absl::StrCat("s3://", g_server->bucket(), "/", prefix_, "/");
  auto store = OpenStore(location);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Describe(), absl::StrCat("s3://", g_server->bucket(), "/", prefix_));
  EXPECT_EQ((*store)->FreeBytes(), -1);
  ASSERT_TRUE((*store)->Put("e/k.json", "{}").ok());
  EXPECT_EQ(*store_->Get("e/k.json"), "{}");
  EXPECT_TRUE((*store)->Sync().ok());
}

}  // namespace
}  // namespace storage

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto server = testing_s3::S3TestServer::Start();
  if (!server.ok()) {
    if (absl::IsUnavailable(server.status())) {
      std::fprintf(stderr, "SKIPPED: no S3 test server: %s\n",
                   std::string(server.status().message()).c_str());
      return 77;
    }
    std::fprintf(stderr, "cannot start the S3 test server: %s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  storage::g_server = server->get();
  int rc = RUN_ALL_TESTS();
  storage::g_server = nullptr;
  server->reset();
  return rc;
}
