// The decode path of a PDU without unknown TLVs (and with up to 8 TLVs) must not allocate: a
// replaced global operator new counts every allocation made by this test binary.

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "codec/decode.h"
#include "codec/encode.h"

namespace {
std::atomic<size_t> g_allocations{0};
}

void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

using namespace smppgw::codec;

TEST_CASE("decode of a submit_sm with TLVs and a receipt deliver_sm allocates nothing") {
  Buffer wire;
  {
    Pdu p(CommandId::submit_sm, 77);
    auto& b = p.as<SmBody>();
    b.source_addr = "447700900123";
    b.destination_addr = "447700900456";
    b.registered_delivery = 1;
    static const uint8_t text[] = "Your verification code is 123456. It expires in 10 minutes.";
    b.short_message = Bytes(text, sizeof text - 1);
    p.tlvs.addU16(tag::user_message_reference, 1234);
    p.tlvs.addU8(tag::payload_type, 0);
    encode(p, wire);
    Pdu r(CommandId::deliver_sm, 78);
    auto& d = r.as<SmBody>();
    d.esm_class = 0x04;
    static const char receipt[] =
        "id:1234567890 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
        "stat:DELIVRD err:000 text:Hello";
    d.short_message = asBytes(receipt);
    r.tlvs.addCString(tag::receipted_message_id, "1234567890");
    r.tlvs.addU8(tag::message_state, 2);
    encode(r, wire);
  }
  Pdu out;  // reused across PDUs, as a session does
  size_t before = g_allocations.load();
  size_t pos = 0;
  int decoded = 0;
  for (int round = 0; round < 100; ++round) {
    pos = 0;
    while (pos < wire.size()) {
      Frame f = peekFrame(wire.view().subspan(pos));
      REQUIRE(f.state == Frame::State::Complete);
      REQUIRE_FALSE(decode(f.pdu, out).has_value());
      pos += f.pdu.size();
      ++decoded;
    }
  }
  size_t after = g_allocations.load();
  CHECK(decoded == 200);
  CHECK(after - before == 0);

  // Re-encoding into a buffer that has reached its working size does not allocate either.
  Buffer out_buf(4096);
  before = g_allocations.load();
  for (int i = 0; i < 100; ++i) {
    out_buf.clear();
    encode(out, out_buf);
  }
  CHECK(g_allocations.load() - before == 0);
}
