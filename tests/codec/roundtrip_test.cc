// Property test: decode(encode(pdu)) == pdu for random PDUs of every type, with random valid
// fields and TLVs (known and vendor-specific), plus framing of many PDUs in random splits.

#include <doctest/doctest.h>

#include <deque>
#include <random>
#include <string>

#include "codec/decode.h"
#include "codec/encode.h"

using namespace smppgw::codec;

namespace {

// Fills every field of a body with a random valid value; strings live in `arena`.
class RandomFiller {
 public:
  RandomFiller(std::mt19937& rng, std::deque<std::string>& arena) : rng_(rng), arena_(arena) {}

  void cstr(std::string_view, std::string_view& s, uint16_t max, uint32_t) {
    s = text(pick(0, max - 1));
  }
  void u8(std::string_view, uint8_t& v) { v = static_cast<uint8_t>(pick(0, 255)); }
  void u8Max(std::string_view, uint8_t& v, uint8_t max, uint32_t) {
    v = static_cast<uint8_t>(pick(0, max));
  }
  void u8Mask(std::string_view, uint8_t& v, uint8_t reserved, uint32_t) {
    v = static_cast<uint8_t>(pick(0, 255) & ~reserved);
  }
  void time(std::string_view, std::string_view& s, uint32_t) {
    switch (pick(0, 2)) {
      case 0:
        s = {};
        break;
      case 1:
        s = keep("240229235959148+");
        break;
      default:
        s = keep("000001000000000R");
        break;
    }
  }
  void shortMessage(Bytes& b) {
    std::string& s = arena_.emplace_back();
    size_t n = static_cast<size_t>(pick(0, 254));
    for (size_t i = 0; i < n; ++i) {
      s.push_back(static_cast<char>(pick(0, 255)));
    }
    b = asBytes(s);
  }
  void destAddresses(DestList& list) {
    int n = pick(1, 12);
    for (int i = 0; i < n; ++i) {
      DestAddress d;
      d.dest_flag = static_cast<uint8_t>(pick(1, 2));
      if (d.dest_flag == 1) {
        d.dest_addr_ton = static_cast<uint8_t>(pick(0, 6));
        d.dest_addr_npi = static_cast<uint8_t>(pick(0, 18));
      }
      d.address = text(pick(0, 20));
      list.push_back(d);
    }
  }
  void unsuccessSmes(UnsuccessList& list) {
    int n = pick(0, 9);
    for (int i = 0; i < n; ++i) {
      UnsuccessSme u;
      u.dest_addr_ton = static_cast<uint8_t>(pick(0, 6));
      u.dest_addr_npi = static_cast<uint8_t>(pick(0, 18));
      u.destination_addr = text(pick(0, 20));
      u.error_status_code = static_cast<uint32_t>(pick(0, 0x112));
      list.push_back(u);
    }
  }

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string_view text(int n) {
    std::string& s = arena_.emplace_back();
    for (int i = 0; i < n; ++i) {
      s.push_back(static_cast<char>(pick(0x21, 0x7E)));
    }
    return s;
  }
  std::string_view keep(std::string_view v) { return arena_.emplace_back(v); }

 private:
  std::mt19937& rng_;
  std::deque<std::string>& arena_;
};

// Integer TLVs of fixed width (safe to generate for any PDU).
constexpr uint16_t kIntTags[] = {
    tag::dest_addr_subunit, tag::user_message_reference, tag::source_port,   tag::sar_msg_ref_num,
    tag::qos_time_to_live,  tag::language_indicator,     tag::message_state, tag::congestion_state};

void addRandomTlvs(Pdu& pdu, RandomFiller& r, bool allow_payload) {
  int n = r.pick(0, 12);  // past 8 the list spills to the heap: both paths are covered
  for (int i = 0; i < n; ++i) {
    switch (r.pick(0, 3)) {
      case 0: {
        uint16_t t = kIntTags[r.pick(0, static_cast<int>(std::size(kIntTags)) - 1)];
        const TlvDef* def = findTlvDef(t);
        pdu.tlvs.addInt(t, static_cast<uint32_t>(r.pick(0, 1 << 30)),
                        static_cast<uint8_t>(def->max_len));
        break;
      }
      case 1:
        pdu.tlvs.addCString(tag::receipted_message_id, r.text(r.pick(0, 64)));
        break;
      case 2: {  // vendor-specific: kept raw
        std::string_view v = r.text(r.pick(0, 40));
        pdu.tlvs.addBytes(static_cast<uint16_t>(r.pick(0x1400, 0x3FFF)), asBytes(v));
        break;
      }
      default:
        if (allow_payload) {
          pdu.tlvs.addBytes(tag::message_payload, asBytes(r.text(r.pick(0, 300))));
          allow_payload = false;  // once is enough
        }
        break;
    }
  }
}

}  // namespace

TEST_CASE("round trip: decode(encode(pdu)) == pdu for random PDUs of every type") {
  std::mt19937 rng(20261127);
  size_t per_type = 300;
  size_t done = 0;
  for (uint32_t raw :
       {0x80000000u, 0x1u,        0x80000001u, 0x2u,        0x80000002u, 0x3u,        0x80000003u,
        0x4u,        0x80000004u, 0x5u,        0x80000005u, 0x6u,        0x80000006u, 0x7u,
        0x80000007u, 0x8u,        0x80000008u, 0x9u,        0x80000009u, 0xBu,        0x15u,
        0x80000015u, 0x21u,       0x80000021u, 0x102u,      0x103u,      0x80000103u, 0x111u,
        0x80000111u, 0x112u,      0x80000112u, 0x113u,      0x80000113u}) {
    auto id = static_cast<CommandId>(raw);
    CAPTURE(commandName(id));
    for (size_t i = 0; i < per_type; ++i) {
      std::deque<std::string> arena;
      RandomFiller r(rng, arena);
      Pdu pdu(id, static_cast<uint32_t>(r.pick(1, 0x7FFFFFFF)));
      std::visit([&](auto& body) { std::decay_t<decltype(body)>::visit(r, body); }, pdu.body);
      bool has_sm = false;
      if (auto* sm = pdu.tryAs<SmBody>()) {
        has_sm = !sm->short_message.empty();
      } else if (auto* mu = pdu.tryAs<SubmitMultiBody>()) {
        has_sm = !mu->short_message.empty();
      } else if (auto* rp = pdu.tryAs<ReplaceSmBody>()) {
        has_sm = !rp->short_message.empty();
      }
      addRandomTlvs(pdu, r, !has_sm);
      if (id == CommandId::broadcast_sm) {  // its four mandatory TLVs
        static const uint8_t area[] = {0, 'x'};
        static const uint8_t content[] = {1, 0, 1};
        static const uint8_t freq[] = {9, 0, 5};
        pdu.tlvs.addBytes(tag::broadcast_area_identifier, area);
        pdu.tlvs.addBytes(tag::broadcast_content_type, content);
        pdu.tlvs.addU16(tag::broadcast_rep_num, 3);
        pdu.tlvs.addBytes(tag::broadcast_frequency_interval, freq);
      }

      Buffer wire;
      encode(pdu, wire);
      REQUIRE(wire.size() == encodedSize(pdu));
      Frame f = peekFrame(wire.view());
      REQUIRE(f.state == Frame::State::Complete);
      Pdu back;
      auto err = decode(f.pdu, back);
      if (err) {
        FAIL("decode failed: " << decodeErrorKindName(err->kind) << " " << err->field);
      }
      CHECK(back == pdu);

      Buffer again;
      encode(back, again);
      CHECK(std::equal(wire.view().begin(), wire.view().end(), again.view().begin(),
                       again.view().end()));
      ++done;
    }
  }
  CHECK(done == 33 * per_type);
}

TEST_CASE("framing: many PDUs in one buffer, split at random points") {
  std::mt19937 rng(7);
  Buffer stream;
  std::vector<uint32_t> seqs;
  for (uint32_t i = 1; i <= 500; ++i) {
    Pdu p(i % 3 == 0 ? CommandId::enquire_link : CommandId::submit_sm_resp, i);
    std::string id = "id-" + std::to_string(i);
    if (auto* b = p.tryAs<MessageIdBody>()) {
      b->message_id = id;
    }
    encode(p, stream);
    seqs.push_back(i);
  }
  // Deliver the stream in random chunks into a reassembly buffer, as a socket would.
  Buffer rx;
  size_t off = 0;
  size_t got = 0;
  while (off < stream.size()) {
    size_t chunk =
        std::min<size_t>(stream.size() - off, std::uniform_int_distribution<size_t>(1, 200)(rng));
    rx.append(stream.data() + off, chunk);
    off += chunk;
    size_t pos = 0;
    for (;;) {
      Frame f = peekFrame(rx.view().subspan(pos));
      if (f.state != Frame::State::Complete) {
        REQUIRE(f.state == Frame::State::NeedMore);
        break;
      }
      Pdu p;
      REQUIRE_FALSE(decode(f.pdu, p).has_value());
      REQUIRE(got < seqs.size());
      CHECK(p.sequence_number == seqs[got]);
      ++got;
      pos += f.pdu.size();
    }
    rx.consume(pos);
  }
  CHECK(got == seqs.size());
  CHECK(rx.empty());
}

TEST_CASE("encode: version gates drop TLVs a peer cannot take") {
  Pdu p(CommandId::submit_sm_resp, 9);
  p.as<MessageIdBody>().message_id = "abc";
  p.tlvs.addU8(tag::congestion_state, 80);
  p.tlvs.addU16(tag::user_message_reference, 7);
  Buffer v50, v34, v33;
  encode(p, v50, {0x50});
  encode(p, v34, {0x34});
  encode(p, v33, {0x33});
  CHECK(v50.size() == 16 + 4 + 5 + 6);
  CHECK(v34.size() == 16 + 4 + 6);
  CHECK(v33.size() == 16 + 4);
  Pdu back;
  REQUIRE_FALSE(decode(v34.view(), back).has_value());
  CHECK_FALSE(back.tlvs.has(tag::congestion_state));
  CHECK(back.tlvs.integer(tag::user_message_reference) == 7u);
}

TEST_CASE("patchSequence re-sequences a forwarded PDU without touching its body") {
  Pdu p(CommandId::submit_sm, 41);
  p.as<SmBody>().destination_addr = "447700900123";
  Buffer b;
  encode(p, b);
  patchSequence(b.mutableView(), 0x7FFFFFFF);
  Pdu back;
  REQUIRE_FALSE(decode(b.view(), back).has_value());
  CHECK(back.sequence_number == 0x7FFFFFFFu);
  CHECK(back.as<SmBody>().destination_addr == "447700900123");
}

TEST_CASE("decode rejects a body shorter than its header says and never reads past it") {
  Pdu p(CommandId::submit_sm, 5);
  p.as<SmBody>().source_addr = "12345";
  Buffer b;
  encode(p, b);
  // Every truncation (with command_length fixed up to match) is an error value, never a crash.
  for (size_t len = 16; len < b.size(); ++len) {
    Buffer t;
    t.append(b.data(), len);
    store32(t.data(), static_cast<uint32_t>(len));
    Pdu out;
    auto err = decode(t.view(), out);
    REQUIRE(err.has_value());
    CHECK(err->respond);
  }
}
