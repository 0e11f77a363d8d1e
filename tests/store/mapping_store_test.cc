// The message id store: the incrementally resized index and the mapping log, checked against
// plain standard-library models over many random operations (several resizes, chunk ends,
// eviction and expiry).

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <deque>
#include <random>
#include <string>
#include <unordered_map>

#include "store/id_index.h"
#include "store/mapping_store.h"

using smppgw::store::IdIndex;
using smppgw::store::MappingInput;
using smppgw::store::MappingStore;
using smppgw::store::MappingView;

TEST_CASE("IdIndex: equals an unordered_map through several incremental resizes") {
  IdIndex idx(16);
  std::unordered_map<uint64_t, uint64_t> model;
  std::mt19937_64 rng(7);
  std::vector<uint64_t> keys;
  size_t resizes_seen = 0;
  bool was_resizing = false;
  for (int op = 0; op < 300'000; ++op) {
    const unsigned kind = rng() % 10;
    if (kind < 6 || keys.empty()) {
      // New keys are mostly sequential (like minted ids), some random; some overwrite.
      uint64_t k = (rng() % 4 == 0) ? (rng() | 1) : (uint64_t{1} << 40) + static_cast<uint64_t>(op);
      if (!keys.empty() && rng() % 8 == 0) {
        k = keys[rng() % keys.size()];
      }
      uint64_t v = rng() % 1'000'000'000;
      idx.put(k, v);
      if (model.emplace(k, v).second) {
        keys.push_back(k);
      } else {
        model[k] = v;
      }
    } else if (kind < 8) {
      // eraseIf with the current value erases; with another value it must not.
      size_t i = rng() % keys.size();
      uint64_t k = keys[i];
      auto it = model.find(k);
      if (rng() % 2 == 0) {
        idx.eraseIf(k, it->second + 1);
      } else {
        idx.eraseIf(k, it->second);
        model.erase(it);
        keys[i] = keys.back();
        keys.pop_back();
      }
    } else {
      uint64_t k = rng() % 2 == 0 && !keys.empty() ? keys[rng() % keys.size()] : (rng() | 1);
      const uint64_t* v = idx.find(k);
      auto it = model.find(k);
      if (it == model.end()) {
        REQUIRE(v == nullptr);
      } else {
        REQUIRE(v != nullptr);
        REQUIRE(*v == it->second);
      }
    }
    if (idx.resizing() && !was_resizing) {
      ++resizes_seen;
    }
    was_resizing = idx.resizing();
  }
  CHECK(resizes_seen >= 8);
  for (const auto& [k, v] : model) {
    const uint64_t* got = idx.find(k);
    REQUIRE(got != nullptr);
    REQUIRE(*got == v);
  }
  if (!idx.resizing()) {
    CHECK(idx.size() == model.size());
  }
}

namespace {

struct Expected {
  uint64_t gid;
  uint32_t upstream;
  std::string id, key, src, dst;
  uint64_t created;
  uint32_t customer;
};

std::string randomText(std::mt19937_64& rng, size_t max_len) {
  std::string s(rng() % (max_len + 1), ' ');
  for (char& c : s) {
    c = static_cast<char>('0' + rng() % 40);
  }
  return s;
}

void checkSame(const MappingView& v, const Expected& e) {
  CHECK(v.gateway_id == e.gid);
  CHECK(v.upstream == e.upstream);
  CHECK(v.customer == e.customer);
  CHECK(v.created_ms == e.created);
  CHECK(v.upstream_id == e.id);
  CHECK(v.upstream_key == e.key);
  CHECK(v.source_addr == e.src);
  CHECK(v.destination_addr == e.dst);
}

}  // namespace

TEST_CASE("MappingStore: lookups both ways, TTL expiry and eviction when full") {
  MappingStore ms(1000, 3);
  auto add = [&](uint64_t gid, std::string key, uint64_t t) {
    MappingInput m;
    m.gateway_id = gid;
    m.upstream = 1;
    m.upstream_id = key;
    m.upstream_key = key;
    m.created_ms = t;
    const std::string src = "src" + key;  // put() copies: the views need only outlive it
    const std::string dst = "dst" + key;
    m.source_addr = src;
    m.destination_addr = dst;
    ms.put(m);
  };
  MappingView v;
  add(10, "a", 0);
  add(11, "b", 100);
  add(12, "c", 200);
  REQUIRE(ms.byGatewayId(11, v));
  CHECK(v.upstream_id == "b");
  CHECK(v.source_addr == "srcb");
  CHECK(v.destination_addr == "dstb");
  REQUIRE(ms.byUpstream(1, "c", v));
  CHECK(v.gateway_id == 12u);
  CHECK_FALSE(ms.byUpstream(2, "c", v));  // other upstream
  add(13, "d", 300);                      // full: the oldest is evicted
  CHECK_FALSE(ms.byGatewayId(10, v));
  CHECK_FALSE(ms.byUpstream(1, "a", v));
  CHECK(ms.stats().evicted == 1);
  ms.expire(1150);  // "b" (100) and earlier are past the 1000 ms TTL
  CHECK_FALSE(ms.byGatewayId(11, v));
  CHECK(ms.byGatewayId(12, v));
  CHECK(ms.stats().expired == 1);
  // A carrier reusing an id: the newest message owns its receipts, and the older one's removal
  // does not take the newer one's index entry with it.
  add(14, "c", 400);
  REQUIRE(ms.byUpstream(1, "c", v));
  CHECK(v.gateway_id == 14u);
  ms.expire(1250);  // removes 12 ("c", the older)
  REQUIRE(ms.byUpstream(1, "c", v));
  CHECK(v.gateway_id == 14u);
  CHECK(ms.byGatewayId(12, v) == false);
  // Emptied completely, then used again.
  ms.expire(100'000);
  CHECK(ms.size() == 0);
  add(15, "e", 100'000);
  REQUIRE(ms.byGatewayId(15, v));
  CHECK(v.upstream_key == "e");
}

TEST_CASE("MappingStore: a normalised key differs from the id; strings over 255 bytes are cut") {
  MappingStore ms(1000, 10);
  MappingInput m;
  m.gateway_id = 1;
  m.upstream = 3;
  m.upstream_id = "00AbC";
  m.upstream_key = "abc";
  const std::string longer(300, 'x');
  m.source_addr = longer;
  ms.put(m);
  MappingView v;
  REQUIRE(ms.byUpstream(3, "abc", v));
  CHECK(v.upstream_id == "00AbC");
  CHECK(v.source_addr == longer.substr(0, 255));
  CHECK(v.destination_addr.empty());
  CHECK_FALSE(ms.byUpstream(3, "00AbC", v));
}

TEST_CASE("MappingStore: equals a deque model over 1M random puts, chunk ends, eviction, expiry") {
  const size_t cap = 60'000;  // ~80 B a record: the log spans several 1 MiB chunks
  MappingStore ms(5'000, cap);
  std::deque<Expected> model;  // live records, oldest first
  std::mt19937_64 rng(11);
  uint64_t now = 0;
  uint64_t gid = 1000;
  size_t bytes_max = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    // First half slow (the cap is reached: eviction), second half fast (the TTL: expiry).
    now += i < 500'000 ? (rng() % 20 == 0 ? 1 : 0) : rng() % 3;
    Expected e;
    e.gid = gid++;
    e.upstream = static_cast<uint32_t>(rng() % 4);
    e.id = std::to_string(rng()) + randomText(rng, 40);  // unique, up to ~60 chars
    e.key = rng() % 3 == 0 ? e.id : e.id + "k";
    e.src = randomText(rng, 21);
    e.dst = randomText(rng, 65);
    e.created = now;
    e.customer = static_cast<uint32_t>(rng() % 100);
    MappingInput in;
    in.gateway_id = e.gid;
    in.upstream = e.upstream;
    in.customer = e.customer;
    in.created_ms = e.created;
    in.upstream_id = e.id;
    in.upstream_key = e.key;
    in.source_addr = e.src;
    in.destination_addr = e.dst;
    checkSame(ms.put(in), e);
    model.push_back(std::move(e));
    if (model.size() > cap) {
      model.pop_front();
    }
    if (i % 1000 == 999) {
      ms.expire(now);
      while (!model.empty() && model.front().created + 5'000 <= now) {
        model.pop_front();
      }
      REQUIRE(ms.size() == model.size());
      bytes_max = std::max(bytes_max, ms.bytes());
      // Spot checks: the oldest, the newest, one in between, both ways; and a removed one.
      for (size_t k : {size_t{0}, model.size() / 2, model.size() - 1}) {
        const Expected& x = model[k];
        MappingView v;
        REQUIRE(ms.byGatewayId(x.gid, v));
        checkSame(v, x);
        REQUIRE(ms.byUpstream(x.upstream, x.key, v));
        checkSame(v, x);
      }
      MappingView gone;
      CHECK_FALSE(ms.byGatewayId(model.front().gid - 1, gone));
    }
  }
  // Every live record, both ways.
  for (const Expected& x : model) {
    MappingView v;
    REQUIRE(ms.byGatewayId(x.gid, v));
    REQUIRE(ms.byUpstream(x.upstream, x.key, v));
    REQUIRE(v.gateway_id == x.gid);
  }
  CHECK(ms.stats().inserted == 1'000'000u);
  CHECK(ms.stats().evicted + ms.stats().expired + ms.size() == 1'000'000u);
  CHECK(ms.stats().evicted > 0);
  CHECK(ms.stats().expired > 0);
  // Memory stays bounded by the cap (chunks are released as the head passes them): 60k records
  // of <= ~260 B plus two indexes, not 1M records.
  CHECK(bytes_max < 40u * 1024 * 1024);
  MESSAGE("peak bytes for " << cap << " mappings: " << bytes_max);
}

TEST_CASE("MappingStore: emptied with the tail near a chunk end, then reused (restart)") {
  // 56-byte records (40-byte header + a 16-byte id): 18,724 fill a chunk to 32 bytes from its
  // end, so the next record cannot fit there. Empty the log at that point, then put two records
  // and expire: both must survive and stay findable both ways.
  MappingStore ms(1000, 1'000'000);
  auto id = [](uint64_t n) {
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(n));
    return std::string(b);
  };
  auto add = [&](uint64_t gid, uint64_t t) {
    const std::string s = id(gid);
    MappingInput m;
    m.gateway_id = gid;
    m.upstream = 1;
    m.upstream_id = s;
    m.upstream_key = s;
    m.created_ms = t;
    ms.put(m);
  };
  for (int round = 0; round < 3; ++round) {
    const uint64_t base = static_cast<uint64_t>(round) * 1'000'000 + 1;
    const uint64_t t0 = static_cast<uint64_t>(round) * 10'000;
    for (uint64_t i = 0; i < 18'724; ++i) {
      add(base + i, t0);
    }
    ms.expire(t0 + 1000);  // everything expires
    REQUIRE(ms.size() == 0);
    add(base + 100'000, t0 + 1001);
    add(base + 100'001, t0 + 1001);
    ms.expire(t0 + 1002);
    REQUIRE(ms.size() == 2);
    MappingView v;
    REQUIRE(ms.byGatewayId(base + 100'000, v));
    REQUIRE(ms.byUpstream(1, id(base + 100'001), v));
    CHECK(v.gateway_id == base + 100'001);
    ms.expire(t0 + 5000);
    REQUIRE(ms.size() == 0);
  }
  CHECK(ms.bytes() <= 2 * MappingStore::kChunkBytes + (1u << 21));
}

TEST_CASE("MappingStore: a lowered limit is reached in batches, not in one put") {
  MappingStore ms(1'000'000, 300'000);
  MappingInput m;
  m.upstream = 1;
  for (uint64_t i = 1; i <= 300'000; ++i) {
    m.gateway_id = i;
    const std::string s = std::to_string(i);
    m.upstream_id = s;
    m.upstream_key = s;
    ms.put(m);
  }
  ms.setLimits(1'000'000, 1000);
  m.gateway_id = 300'001;
  m.upstream_id = m.upstream_key = "x";
  ms.put(m);
  CHECK(ms.stats().evicted == 4);  // the put itself removes a few only
  ms.expire(0);                    // the janitor: one batch
  CHECK(ms.size() == 300'001 - 4 - MappingStore::kTrimBatch);
  for (int i = 0; i < 3; ++i) {
    ms.expire(0);
  }
  CHECK(ms.size() == 1000);
  MappingView v;
  CHECK(ms.byGatewayId(300'001, v));
  CHECK_FALSE(ms.byGatewayId(1, v));
}

TEST_CASE("MappingStore: several records share one gateway id (the parts of a submit_multi)") {
  MappingStore store(1000, 100);
  auto put = [&](std::string_view carrier_id, std::string_view dest, uint64_t at) {
    MappingInput m;
    m.gateway_id = 42;
    m.upstream = carrier_id[0] == 'u' ? 0 : 1;
    m.created_ms = at;
    m.upstream_id = carrier_id;
    m.upstream_key = carrier_id;
    m.source_addr = "4477001";
    m.destination_addr = dest;
    store.put(m);
  };
  put("uk-1", "447700900001", 0);
  put("de-1", "4930100001", 10);
  put("uk-2", "447700900002", 20);
  // Each part is found by its own carrier id, with its own destination and the shared id.
  MappingView v;
  REQUIRE(store.byUpstream(0, "uk-1", v));
  CHECK(v.gateway_id == 42);
  CHECK(v.destination_addr == "447700900001");
  REQUIRE(store.byUpstream(1, "de-1", v));
  CHECK(v.destination_addr == "4930100001");
  REQUIRE(store.byUpstream(0, "uk-2", v));
  CHECK(v.destination_addr == "447700900002");
  // By gateway id: the newest part.
  REQUIRE(store.byGatewayId(42, v));
  CHECK(v.upstream_id == "uk-2");
  // Expiring the older parts leaves the newest one reachable both ways.
  store.expire(1015);
  CHECK(store.size() == 1);
  CHECK_FALSE(store.byUpstream(0, "uk-1", v));
  REQUIRE(store.byGatewayId(42, v));
  CHECK(v.upstream_id == "uk-2");
  store.expire(1020);
  CHECK_FALSE(store.byGatewayId(42, v));
}
