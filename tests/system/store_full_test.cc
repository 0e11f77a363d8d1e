// The durable store when the disk says no: a small tmpfs the test mounts (filled up, then
// remounted read-only) under a running gateway. Submits are refused with ESME_RSYSERR while the
// store cannot write — nothing gets a gateway id that is not stored — the gateway keeps serving
// (binds, enquire_link, refusals), and accepts again once there is room. Exits 77 (CTest:
// skipped) where the test may not mount a file system (it needs CAP_SYS_ADMIN).

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "codec/pdu.h"
#include "tests/support/esme_client.h"
#include "tests/support/metric_wait.h"
#include "tests/support/peers.h"
#include "tests/support/prometheus.h"

namespace fs = std::filesystem;
using nlohmann::json;
using smppgw::codec::CommandId;
using smppgw::testsupport::EsmeClient;
using smppgw::testsupport::GatewayProc;
using smppgw::testsupport::McsimProc;
using smppgw::testsupport::metric;
using smppgw::testsupport::metricAtLeast;
using smppgw::testsupport::metricUntil;

namespace {

constexpr int kSkip = 77;

// A tmpfs of `mib` MiB at a fresh directory, unmounted (and removed) at the end.
struct SmallDisk {
  fs::path dir;
  bool mounted = false;
  explicit SmallDisk(int mib) {
    dir = fs::temp_directory_path() / ("smppgw-small-disk-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string opts = "size=" + std::to_string(mib) + "m";
    mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted) {
      ::umount2(dir.c_str(), MNT_DETACH);
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  bool remount(bool read_only) {
    return ::mount("tmpfs", dir.c_str(), "tmpfs", MS_REMOUNT | (read_only ? MS_RDONLY : 0),
                   nullptr) == 0;
  }
  // Writes a file until the file system is full; returns the bytes written.
  size_t fill(const std::string& name) {
    std::FILE* f = std::fopen((dir / name).c_str(), "wb");
    REQUIRE(f != nullptr);
    std::vector<char> chunk(64 * 1024, 'x');
    size_t total = 0;
    for (int i = 0; i < 1 << 20; ++i) {  // bounded: 64 GiB
      const size_t n = std::fwrite(chunk.data(), 1, chunk.size(), f);
      total += n;
      if (n < chunk.size() || std::fflush(f) != 0) {
        break;
      }
    }
    std::fclose(f);
    return total;
  }
};

// Submits until one is refused (or `max`); the statuses in order.
std::vector<uint32_t> submitUntilRefused(EsmeClient& c, int max) {
  std::vector<uint32_t> st;
  for (int i = 0; i < max; ++i) {
    auto r = c.submit("12345", "4477001", "full disk " + std::to_string(i), 1);
    REQUIRE(r != nullptr);
    st.push_back(r->status());
    if (r->status() != 0) {
      break;
    }
  }
  return st;
}

json config(uint16_t mc_port, const fs::path& store) {
  json c = smppgw::testsupport::baseGatewayConfig({{"mc", mc_port}});
  // 32 MiB kept free: the 128 MiB disks below have room for the store until the test fills them.
  c["store"] = {{"type", "embedded"}, {"path", store.string()}, {"min_free_bytes", 32 << 20}};
  c["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  return c;
}

}  // namespace

TEST_CASE(
    "a full disk: submits refused with ESME_RSYSERR, nothing acknowledged unstored, "
    "accepted again when space returns") {
  SmallDisk disk(128);
  REQUIRE(disk.mounted);
  McsimProc mc({"--receipt-delay-ms", "10"});
  GatewayProc gw(config(mc.port(), disk.dir / "store"));
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
  for (int i = 0; i < 50; ++i) {
    REQUIRE(c.submit("12345", "4477001", "room", 1)->status() == 0);
  }
  disk.fill("filler");
  // The next batch fails: that submit (and every later one) is refused.
  const auto st = submitUntilRefused(c, 100'000);
  REQUIRE(st.back() == smppgw::codec::status::ESME_RSYSERR);
  MESSAGE((st.size() - 1) << " submits accepted after the fill before the store refused one");
  CHECK(metricAtLeast(gw, "smppgw_store_writes_total{result=\"failed\"}", 1));
  CHECK(metric(gw, "smppgw_store_writable") == 0);
  // Still serving: refusals are immediate, the session stays up.
  for (int i = 0; i < 20; ++i) {
    auto r = c.submit("12345", "4477001", "still full", 1);
    REQUIRE(r != nullptr);
    CHECK(r->status() == smppgw::codec::status::ESME_RSYSERR);
  }
  CHECK(metric(gw, "smppgw_refusals_total{customer=\"acme\",reason=\"store\"}") >= 20);
  // Room again: within a probe or two the store takes writes and submits are accepted.
  fs::remove(disk.dir / "filler");
  CHECK(metricUntil(gw, "smppgw_store_writable", [](double v) { return v == 1; }));
  for (int i = 0; i < 50; ++i) {
    auto r = c.submit("12345", "4477001", "room again", 1);
    REQUIRE(r != nullptr);
    CHECK(r->status() == 0);
  }
  CHECK(gw.stop() == 0);
}

TEST_CASE(
    "store_and_forward: carrier acceptances that come while the disk is full are written once it "
    "has room; a restart sends none of them again") {
  SmallDisk disk(128);
  REQUIRE(disk.mounted);
  // The carrier answers 3 s after each submit: the answers come while the store refuses.
  McsimProc mc({"--latency", "fixed:3s", "--receipt-delay-ms", "10"});
  json cfg = config(mc.port(), disk.dir / "store");
  cfg["routing"] = {{"ack_mode", "store_and_forward"}};
  // (the base config's 2 s would time the answers out)
  cfg["upstreams"][0]["request_timeout"] = "10s";
  GatewayProc gw(cfg);
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
  constexpr int kQueued = 20;
  for (int i = 0; i < kQueued; ++i) {
    REQUIRE(c.submit("12345", "4477001", "forward " + std::to_string(i), 1)->status() == 0);
  }
  CHECK(
      metricAtLeast(gw, "smppgw_forward_messages_total{group=\"main\",result=\"sent\"}", kQueued));
  disk.fill("filler");
  // Submits until the store refuses one (those before it are in the journal: accepted, and
  // sent once there is room).
  const auto st = submitUntilRefused(c, 1000);
  REQUIRE(st.back() == smppgw::codec::status::ESME_RSYSERR);
  const size_t accepted = kQueued + st.size() - 1;
  CHECK(metricUntil(gw, "smppgw_store_writable", [](double v) { return v == 0; }));
  // The carrier's answers come meanwhile; their writes are refused.
  CHECK(metricAtLeast(gw, "smppgw_forward_messages_total{group=\"main\",result=\"delivered\"}",
                      kQueued));
  fs::remove(disk.dir / "filler");
  REQUIRE(gw.waitForLog("event=store_writable"));
  const std::string log = gw.proc().err();
  const size_t at = log.find("event=store_writable");
  const size_t rw = log.find("rewritten=", at);
  REQUIRE(rw != std::string::npos);
  CHECK(std::stoul(log.substr(rw + 10)) >= kQueued);
  // Every message's receipt reaches the customer.
  size_t receipts = 0;
  for (int i = 0; i < 10'000 && receipts < accepted; ++i) {
    auto r = c.read(10'000);
    REQUIRE_MESSAGE(r != nullptr, receipts << " of " << accepted << " receipts");
    if (r->id() == CommandId::deliver_sm) {
      ++receipts;
    }
    REQUIRE(c.respond(*r));
  }
  CHECK(metricUntil(gw, "smppgw_deliveries_pending{customer=\"acme\"}",
                    [](double v) { return v == 0; }));
  c.close();
  CHECK(gw.stop() == 0);
  // Started again on the same store: nothing left in a queue or an outbox, nothing sent again.
  GatewayProc again(cfg);
  REQUIRE(again.waitForLog("event=store_opened"));
  CHECK_MESSAGE(again.proc().err().find(" waiting=0 ") != std::string::npos, again.proc().err());
  CHECK(again.stop() == 0);
  CHECK(mc.stop()["messages"]["accepted"] == accepted);
}

TEST_CASE("a store on a read-only file system: the gateway refuses to start, saying why") {
  SmallDisk disk(8);
  REQUIRE(disk.mounted);
  fs::create_directories(disk.dir / "store");
  // Read-only before anything has a file open for writing (a busy file system cannot be).
  REQUIRE(disk.remount(true));
  const fs::path cfg =
      fs::temp_directory_path() / ("smppgw-ro-store-" + std::to_string(::getpid()) + ".json");
  std::ofstream(cfg) << config(2776, disk.dir / "store").dump(2);
  smppgw::testsupport::ChildProcess gw;
  std::string error;
  REQUIRE_MESSAGE(gw.start(smppgw::testsupport::binaryPath("gateway/smppgw"),
                           {"run", "-c", cfg.string()}, &error),
                  error);
  REQUIRE(gw.wait(std::chrono::seconds(10)));
  CHECK(gw.exitCode() == 1);
  CHECK_MESSAGE(gw.err().find("store_failed") != std::string::npos, gw.err());
  CHECK_MESSAGE(gw.err().find("Read-only") != std::string::npos, gw.err());
  fs::remove(cfg);
}

int main(int argc, char** argv) {
  {
    SmallDisk probe(1);
    if (!probe.mounted) {
      std::fprintf(stderr, "cannot mount a tmpfs here (needs CAP_SYS_ADMIN): skipped\n");
      return kSkip;
    }
  }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
