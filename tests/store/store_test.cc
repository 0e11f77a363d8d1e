// The durable store, through its interface only (store/store.h): every backend must pass these.
// Today the list of backends holds the embedded one; a shared one is added to kBackends.
// Each case works in its own fresh directory; "reopen" closes the store and opens the same
// directory, as a restart does.

#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "store/store.h"

namespace fs = std::filesystem;
using smppgw::store::recordOf;
using smppgw::store::Store;
using smppgw::store::StoredDelivery;
using smppgw::store::StoredMapping;
using smppgw::store::StoreListener;
using smppgw::store::StoreOptions;

namespace {

struct Backend {
  const char* name;
  std::unique_ptr<Store> (*open)(const StoreOptions&, std::string&);
};
const Backend kBackends[] = {{"embedded", &smppgw::store::openEmbedded}};

// Wakes from the store's threads; the test thread polls, as the loop does.
struct Harness final : StoreListener {
  std::mutex mu;
  std::condition_variable cv;
  bool woken = false;
  uint64_t done_ok = 0;      // highest ticket reported durable
  uint64_t done_failed = 0;  // highest ticket reported not stored
  fs::path dir;
  StoreOptions opts;  // as opened (reopen uses them again)
  std::unique_ptr<Store> store;
  const Backend& backend;

  explicit Harness(const Backend& b, StoreOptions o = {}) : backend(b) {
    dir = fs::temp_directory_path() /
          ("smppgw-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::remove_all(dir);
    open(std::move(o));
  }
  ~Harness() {
    store.reset();
    fs::remove_all(dir);
    if (!opts.journal_dir.empty()) {
      fs::remove_all(opts.journal_dir);
    }
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
  void open(StoreOptions o) {
    o.path = dir.string();
    opts = o;
    done_ok = done_failed = 0;  // (a new store's tickets start again at 1)
    o.wake = [this] {
      std::lock_guard lk(mu);
      woken = true;
      cv.notify_all();
    };
    std::string err;
    store = backend.open(o, err);
    REQUIRE_MESSAGE(store != nullptr, err);
  }
  void reopen() {
    store.reset();
    open(opts);
  }
  void writesDone(uint64_t ticket, bool ok) override { (ok ? done_ok : done_failed) = ticket; }
  // Polls until pred() or 10 s (a bound, not a synchronisation: every wait is for an event).
  template <typename Pred>
  bool until(Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      store->poll(*this);
      if (pred()) {
        return true;
      }
      std::unique_lock lk(mu);
      if (!cv.wait_until(lk, deadline, [&] { return woken; })) {
        return false;
      }
      woken = false;
    }
  }
  void durable() {
    store->kick();
    REQUIRE(until([&] { return done_ok >= store->lastTicket(); }));
  }
  std::optional<StoredMapping> byGateway(uint64_t id, uint64_t now = 1000, uint64_t ttl = 1000) {
    std::optional<StoredMapping> out;
    bool got = false;
    store->findByGatewayId(id, now, ttl, [&](std::optional<StoredMapping> m, bool ok) {
      CHECK(ok);
      out = std::move(m);
      got = true;
    });
    REQUIRE(until([&] { return got; }));
    return out;
  }
  std::optional<StoredMapping> byUpstream(std::string up, std::string key, uint64_t now = 1000,
                                          uint64_t ttl = 1000) {
    std::optional<StoredMapping> out;
    bool got = false;
    store->findByUpstream(up, key, now, ttl, [&](std::optional<StoredMapping> m, bool ok) {
      CHECK(ok);
      out = std::move(m);
      got = true;
    });
    REQUIRE(until([&] { return got; }));
    return out;
  }
  std::vector<StoredDelivery> outbox(std::string customer, uint64_t after = 0, size_t max = 1000) {
    std::vector<StoredDelivery> out;
    bool got = false;
    store->readOutbox(customer, after, max, [&](std::vector<StoredDelivery> v, bool ok) {
      CHECK(ok);
      out = std::move(v);
      got = true;
    });
    REQUIRE(until([&] { return got; }));
    return out;
  }
};

StoredMapping mapping(uint64_t id, std::string customer, std::string upstream, std::string key,
                      uint64_t created = 900) {
  StoredMapping m;
  m.gateway_id = id;
  m.created_ms = created;
  m.registered_delivery = 1;
  m.customer = std::move(customer);
  m.upstream = std::move(upstream);
  m.upstream_id = "ID-" + key;
  m.upstream_key = std::move(key);
  m.source_addr = "4477";
  m.destination_addr = "4479";
  return m;
}

smppgw::store::QueuedMessage queued(uint64_t id, uint64_t created = 0) {
  smppgw::store::QueuedMessage m;
  m.gateway_id = id;
  m.created_ms = created;
  m.customer = "acme";
  m.pdu = "submit-" + std::to_string(id);
  return m;
}

StoredDelivery delivery(uint64_t id, std::string pdu, uint64_t created = 900) {
  StoredDelivery d;
  d.id = id;
  d.created_ms = created;
  d.command = 5;
  d.version_needed = 0x34;
  d.pdu = std::move(pdu);
  return d;
}

}  // namespace

TEST_CASE("store: mappings are found by gateway id and by carrier id, after a restart too") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    Harness h(b);
    CHECK(h.store->putMapping(recordOf(mapping(10, "acme", "vodafone", "abc")), true) == 1);
    CHECK(h.store->putMapping(recordOf(mapping(11, "beta", "vodafone", "abd")), true) == 2);
    h.durable();
    auto m = h.byGateway(10);
    REQUIRE(m);
    CHECK(m->customer == "acme");
    CHECK(m->upstream == "vodafone");
    CHECK(m->upstream_id == "ID-abc");
    CHECK(m->source_addr == "4477");
    CHECK(m->destination_addr == "4479");
    CHECK(m->registered_delivery == 1);
    CHECK(m->created_ms == 900);
    CHECK(h.byUpstream("vodafone", "abd")->gateway_id == 11);
    CHECK_FALSE(h.byUpstream("orange", "abd"));  // another carrier's id
    CHECK_FALSE(h.byGateway(12));
    // The carrier reuses an id: the newest submit owns its receipts; the old one keeps its id.
    h.store->putMapping(recordOf(mapping(12, "beta", "vodafone", "abc")), true);
    h.durable();
    CHECK(h.byUpstream("vodafone", "abc")->gateway_id == 12);
    CHECK(h.byGateway(10)->customer == "acme");

    h.reopen();
    CHECK(h.store->openInfo().max_gateway_id == 12);
    CHECK(h.byUpstream("vodafone", "abc")->customer == "beta");
    CHECK(h.byGateway(11)->upstream_key == "abd");
  }
}

TEST_CASE("store: a mapping past its TTL is not found, and expiry removes it and counts it") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    Harness h(b);
    h.store->putMapping(recordOf(mapping(1, "acme", "vf", "old", 100)), true);
    h.store->putMapping(recordOf(mapping(2, "acme", "vf", "new", 900)), true);
    h.durable();
    CHECK_FALSE(h.byGateway(1, 1100, 1000));  // 100 + 1000 <= 1100
    CHECK(h.byGateway(2, 1100, 1000));
    h.store->expire(1100, 1000, 1000);
    REQUIRE(h.until([&] { return h.store->stats().expired_mappings == 1; }));
    CHECK_FALSE(h.byGateway(1, 0, 1'000'000));
    CHECK_FALSE(h.byUpstream("vf", "old", 0, 1'000'000));
    CHECK(h.byUpstream("vf", "new", 1100, 1000)->gateway_id == 2);
  }
}

TEST_CASE("store: outboxes keep order per customer, lose what was acknowledged, survive restart") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    Harness h(b);
    for (uint64_t i = 1; i <= 5; ++i) {
      h.store->putDelivery("acme", delivery(100 + i, "pdu-a" + std::to_string(i)));
      h.store->putDelivery("acme2", delivery(200 + i, "pdu-b" + std::to_string(i)));
    }
    h.store->removeDelivery("acme", 102);
    h.durable();
    auto a = h.outbox("acme");
    REQUIRE(a.size() == 4);
    CHECK(a[0].id == 101);
    CHECK(a[1].id == 103);
    CHECK(a[1].pdu == "pdu-a3");
    CHECK(a[1].command == 5);
    CHECK(a[1].version_needed == 0x34);
    CHECK(a[3].id == 105);
    // Pages: after an id, at most max.
    auto page = h.outbox("acme", 103, 1);
    REQUIRE(page.size() == 1);
    CHECK(page[0].id == 104);
    // "acme" is a prefix of "acme2": their outboxes stay apart.
    CHECK(h.outbox("acme2").size() == 5);
    CHECK(h.outbox("acm").empty());

    h.reopen();
    auto boxes = h.store->openInfo().outboxes;
    REQUIRE(boxes.size() == 2);
    CHECK(boxes[0] == std::pair<std::string, uint64_t>{"acme", 4});
    CHECK(boxes[1] == std::pair<std::string, uint64_t>{"acme2", 5});
    CHECK(h.store->openInfo().max_delivery_id == 205);
    CHECK(h.outbox("acme").size() == 4);
    // Expiry by delivery age, per customer.
    h.store->putDelivery("acme", delivery(106, "young", 5000));
    h.durable();
    h.store->expire(2000, 1'000'000, 1000);
    REQUIRE(h.until([&] { return h.store->stats().expired_deliveries == 9; }));
    a = h.outbox("acme");
    REQUIRE(a.size() == 1);
    CHECK(a[0].pdu == "young");
    CHECK(h.outbox("acme2").empty());
  }
}

TEST_CASE("store: writes are committed in batches, reported in order, all of them on close") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    StoreOptions o;
    o.batch_max = 64;
    Harness h(b, o);
    uint64_t last = 0;
    for (uint64_t i = 1; i <= 10'000; ++i) {
      last = h.store->putMapping(recordOf(mapping(i, "acme", "vf", "k" + std::to_string(i))), true);
      CHECK(last == i);
    }
    h.durable();
    CHECK(h.done_failed == 0);
    const auto s = h.store->stats();
    CHECK(s.writes == 10'000);
    CHECK(s.batches >= 10'000 / 64);
    CHECK(s.batches < 10'000);
    CHECK(s.bytes_written > 10'000 * 40);
    // Queued writes are committed when the store closes (a graceful stop), not dropped.
    for (uint64_t i = 10'001; i <= 12'000; ++i) {
      h.store->putMapping(recordOf(mapping(i, "acme", "vf", "k" + std::to_string(i))), true);
    }
    h.reopen();
    CHECK(h.store->openInfo().max_gateway_id == 12'000);
    CHECK(h.byUpstream("vf", "k12000")->gateway_id == 12'000);
    CHECK(h.store->diskBytes() > 0);
  }
}

TEST_CASE("store: a directory that cannot be made is an error, not a crash") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    const fs::path file =
        fs::temp_directory_path() / ("smppgw-store-file-" + std::to_string(::getpid()));
    std::ofstream(file) << "x";
    StoreOptions o;
    o.path = (file / "db").string();
    std::string err;
    CHECK(b.open(o, err) == nullptr);
    CHECK(err.find("db") != std::string::npos);
    fs::remove(file);
  }
}

TEST_CASE("store: a second store on the same directory is refused while the first is open") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    Harness h(b);
    StoreOptions o;
    o.path = h.dir.string();
    std::string err;
    CHECK(b.open(o, err) == nullptr);
    CHECK_FALSE(err.empty());
  }
}

TEST_CASE("store: a write that would leave less than min_free_bytes is refused, nothing written") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    StoreOptions o;
    o.min_free_bytes = uint64_t{1} << 60;  // more than any disk has
    Harness h(b, o);
    const uint64_t t = h.store->putMapping(recordOf(mapping(7, "acme", "vf", "k7")), true);
    h.store->kick();
    REQUIRE(h.until([&] { return h.done_failed >= t; }));
    CHECK(h.done_ok < t);
    CHECK(h.store->lastError().find("min_free_bytes") != std::string::npos);
    CHECK(h.store->stats().failed_writes == 1);
    CHECK(h.store->stats().writes == 0);
    CHECK_FALSE(h.byGateway(7));
    const uint64_t p = h.store->probe();  // still refused: the same answer, no crash
    h.store->kick();
    REQUIRE(h.until([&] { return h.done_failed >= p; }));
  }
}

TEST_CASE("store: store_and_forward queues keep order per group and survive a restart") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    Harness h(b);
    for (uint64_t id = 1; id <= 4; ++id) {
      h.store->putQueued(id % 2 == 0 ? "eu" : "us", queued(id, 500 + id));
    }
    h.store->removeQueued("eu", 2);
    h.durable();
    h.reopen();
    const auto& q = h.store->openInfo().queues;
    REQUIRE(q.size() == 2);
    CHECK(q[0] == std::pair<std::string, uint64_t>{"eu", 1});
    CHECK(q[1] == std::pair<std::string, uint64_t>{"us", 2});
    CHECK(h.store->openInfo().max_queued_id == 4);
    std::vector<smppgw::store::QueuedMessage> got;
    bool done = false;
    h.store->readQueue("us", 0, 10, [&](std::vector<smppgw::store::QueuedMessage> v, bool ok) {
      CHECK(ok);
      got = std::move(v);
      done = true;
    });
    REQUIRE(h.until([&] { return done; }));
    REQUIRE(got.size() == 2);
    CHECK(got[0].gateway_id == 1);
    CHECK(got[0].customer == "acme");
    CHECK(got[0].created_ms == 501);
    CHECK(got[1].pdu == "submit-3");
  }
}

TEST_CASE(
    "store: a queued message leaves its queue in one write with its mapping or its final "
    "receipt") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    Harness h(b);
    for (uint64_t id = 1; id <= 3; ++id) {
      h.store->putQueued("eu", queued(id));
    }
    const uint64_t t1 = h.store->dequeueWithMapping("eu", recordOf(mapping(1, "acme", "vf", "c1")));
    const uint64_t t2 =
        h.store->dequeueWithDelivery("eu", 2, "acme", delivery(50, "receipt for 2"));
    CHECK(t2 == t1 + 1);  // one write each
    h.durable();
    h.reopen();
    const auto& q = h.store->openInfo().queues;
    REQUIRE(q.size() == 1);
    CHECK(q[0] == std::pair<std::string, uint64_t>{"eu", 1});  // only message 3 is left
    CHECK(h.byUpstream("vf", "c1")->gateway_id == 1);          // indexed at once
    const auto out = h.outbox("acme");
    REQUIRE(out.size() == 1);
    CHECK(out[0].id == 50);
    CHECK(out[0].pdu == "receipt for 2");
  }
}

TEST_CASE(
    "store: a mapping written without its carrier-id entry is found by carrier id once "
    "indexed, and after a restart without it") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    Harness h(b);
    const StoredMapping m1 = mapping(101, "acme", "vf", "late1");
    const StoredMapping m2 = mapping(102, "acme", "vf", "late2");
    h.store->putMapping(recordOf(m1), false);
    h.store->putMapping(recordOf(m2), false);
    h.durable();
    CHECK(h.byGateway(101));  // by gateway id at once
    CHECK_FALSE(h.byUpstream("vf", "late1"));
    const smppgw::store::IndexEntry e{101, "vf", "late1"};
    h.store->indexMappings(std::span(&e, 1), 101);  // 101 and below: indexed
    h.durable();
    CHECK(h.byUpstream("vf", "late1")->gateway_id == 101);
    CHECK_FALSE(h.byUpstream("vf", "late2"));
    // The process stops before 102 is indexed: the next one gets it back to index it.
    h.reopen();
    CHECK(h.store->openInfo().index_mark == 101);
    std::vector<uint64_t> back;
    bool last = false;
    h.store->readUnindexed(1, [&](std::vector<StoredMapping> page, bool is_last, bool ok) {
      CHECK(ok);
      for (const StoredMapping& m : page) {
        CHECK(m.upstream_key == "late2");
        back.push_back(m.gateway_id);
      }
      last = is_last;
    });
    REQUIRE(h.until([&] { return last; }));
    CHECK(back == std::vector<uint64_t>{102});
    const smppgw::store::IndexEntry e2{102, "vf", "late2"};
    h.store->indexMappings(std::span(&e2, 1), 102);
    h.durable();
    CHECK(h.byUpstream("vf", "late2")->gateway_id == 102);
    h.reopen();
    size_t more = 0;
    last = false;
    h.store->readUnindexed(10, [&](std::vector<StoredMapping> page, bool is_last, bool ok) {
      CHECK(ok);
      more += page.size();
      last = is_last;
    });
    REQUIRE(h.until([&] { return last; }));
    CHECK(more == 0);
  }
}

namespace {
StoreOptions withJournal(const std::string& name) {
  StoreOptions o;
  o.journal_dir = (fs::temp_directory_path() /
                   ("smppgw-journal-test-" + std::to_string(::getpid()) + "-" + name))
                      .string();
  return o;
}
}  // namespace

TEST_CASE(
    "store journal: batches are done at kick() and committed after; lookups see them; a "
    "clean close empties and removes it") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    Harness h(b, withJournal("clean"));
    const std::string path = h.store->openInfo().journal;
    REQUIRE_FALSE(path.empty());
    CHECK(fs::exists(path));
    uint64_t last = 0;
    for (uint64_t i = 1; i <= 100; ++i) {
      last = h.store->putMapping(recordOf(mapping(i, "acme", "vf", "j" + std::to_string(i))), true);
    }
    h.store->kick();
    h.store->poll(h);  // no wait: the journal has them
    CHECK(h.done_ok == last);
    CHECK(h.byGateway(50)->gateway_id == 50);  // (waits for the commit before it)
    CHECK(h.byUpstream("vf", "j100")->gateway_id == 100);
    CHECK(h.until([&] { return h.store->stats().writes == 100; }));
    h.reopen();
    CHECK(h.store->openInfo().journal_replayed == 0);
    h.store.reset();
    CHECK_FALSE(fs::exists(path));
  }
}

TEST_CASE(
    "store journal: a batch the disk refuses stays in the journal and is written at the "
    "next start") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    StoreOptions o = withJournal("full");
    o.min_free_bytes = uint64_t{1} << 60;  // more than any disk has
    Harness h(b, o);
    const uint64_t t = h.store->putMapping(recordOf(mapping(7, "acme", "vf", "k7")), true);
    h.store->kick();
    h.store->poll(h);
    CHECK(h.done_ok == t);  // answered: it is in the journal
    // The commit fails: the store reports it is failing (a report for a ticket already done).
    REQUIRE(h.until([&] { return h.done_failed >= t; }));
    CHECK(h.store->lastError().find("min_free_bytes") != std::string::npos);
    CHECK(h.store->stats().writes == 0);
    // A new write is not journaled while the store fails: refused, as without a journal.
    const uint64_t p = h.store->probe();
    h.store->kick();
    REQUIRE(h.until([&] { return h.done_failed >= p; }));
    CHECK(h.done_ok < p);
    // Stopped while the disk is still full: the journal keeps the batch; a start with room
    // writes it before anything else.
    h.store.reset();
    o.min_free_bytes = 0;
    h.open(o);
    CHECK(h.store->openInfo().journal_replayed == 1);
    CHECK(h.byGateway(7)->gateway_id == 7);
    CHECK(h.byUpstream("vf", "k7")->gateway_id == 7);
  }
}

TEST_CASE(
    "store journal: a batch it has no room for is done after its commit, and counted; the next "
    "small one is journaled again") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    StoreOptions o = withJournal("small");
    o.journal_bytes = 4096;
    Harness h(b, o);
    uint64_t big = 0;
    for (uint64_t i = 1; i <= 200; ++i) {  // ~15 KiB of mappings: more than the ring
      big = h.store->putMapping(recordOf(mapping(i, "acme", "vf", "s" + std::to_string(i))), true);
    }
    h.store->kick();  // not journaled: done once it is on disk
    REQUIRE(h.until([&] { return h.done_ok >= big; }));
    CHECK(h.store->stats().journal_full == 1);
    CHECK(h.store->stats().writes == 200);
    const uint64_t small = h.store->putMapping(recordOf(mapping(201, "acme", "vf", "s201")), true);
    h.store->kick();
    h.store->poll(h);
    CHECK(h.done_ok == small);                             // journaled: done at once
    CHECK(h.byUpstream("vf", "s201")->gateway_id == 201);  // (waits for its commit)
    CHECK(h.store->stats().journal_bytes == 0);
    CHECK(h.store->stats().journal_full == 1);
  }
}

TEST_CASE(
    "store journal: store.journal changed after a crash: what the old directory holds is "
    "written first, and that file removed") {
  for (const Backend& b : kBackends) {
    CAPTURE(b.name);
    StoreOptions o = withJournal("moved-a");
    o.min_free_bytes = uint64_t{1} << 60;  // the commit fails: the batch stays in the journal
    Harness h(b, o);
    const std::string old_path = h.store->openInfo().journal;
    const std::string old_dir = o.journal_dir;
    const uint64_t t = h.store->putMapping(recordOf(mapping(9, "acme", "vf", "k9")), true);
    h.store->kick();
    h.store->poll(h);
    REQUIRE(h.done_ok == t);  // answered from the journal
    REQUIRE(h.until([&] { return h.done_failed >= t; }));
    h.store.reset();  // (as a crash leaves it: in the journal, not in the engine)
    REQUIRE(fs::exists(old_path));
    StoreOptions moved = withJournal("moved-b");
    moved.min_free_bytes = 0;
    h.open(moved);
    CHECK(h.store->openInfo().journal_moved_from == old_dir);
    CHECK(h.store->openInfo().journal_replayed == 1);
    CHECK_FALSE(fs::exists(old_path));
    CHECK(h.byUpstream("vf", "k9")->gateway_id == 9);
    // Opened again with the same directory: nothing moved.
    h.reopen();
    CHECK(h.store->openInfo().journal_moved_from.empty());
    fs::remove_all(old_dir);
  }
}
