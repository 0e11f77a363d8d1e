// Decode and re-encode costs of the PDUs on the hot path. Target: decode + re-encode of a
// ~150-byte submit_sm with two TLVs under 150 ns on the development machines.

#include <benchmark/benchmark.h>

#include "codec/decode.h"
#include "codec/encode.h"

using namespace smppgw::codec;

namespace {

Buffer typicalSubmitSm() {
  Pdu p(CommandId::submit_sm, 77);
  auto& b = p.as<SmBody>();
  b.source_addr = "447700900123";
  b.destination_addr = "447700900456";
  b.source_addr_ton = b.dest_addr_ton = 1;
  b.source_addr_npi = b.dest_addr_npi = 1;
  b.registered_delivery = 1;
  static const char text[] =
      "Your verification code is 123456. It expires in 10 minutes. Do not "
      "share it with anyone.";
  b.short_message = asBytes(text);
  p.tlvs.addU16(tag::user_message_reference, 1234);
  p.tlvs.addU8(tag::payload_type, 0);
  Buffer out;
  encode(p, out);
  return out;
}

Buffer receiptDeliverSm() {
  Pdu r(CommandId::deliver_sm, 78);
  auto& d = r.as<SmBody>();
  d.source_addr = "447700900456";
  d.destination_addr = "447700900123";
  d.esm_class = 0x04;
  static const char receipt[] =
      "id:1234567890 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD "
      "err:000 text:Your verification";
  d.short_message = asBytes(receipt);
  r.tlvs.addCString(tag::receipted_message_id, "1234567890");
  r.tlvs.addU8(tag::message_state, 2);
  static const uint8_t nec[] = {3, 0, 0};
  r.tlvs.addBytes(tag::network_error_code, nec);
  Buffer out;
  encode(r, out);
  return out;
}

void decodeReencode(benchmark::State& state, const Buffer& wire) {
  Pdu pdu;
  Buffer out(1024);
  for (auto _ : state) {
    Frame f = peekFrame(wire.view());
    auto err = decode(f.pdu, pdu);
    benchmark::DoNotOptimize(err);
    out.clear();
    encode(pdu, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::to_string(wire.size()) + " bytes");
}

void decodeOnly(benchmark::State& state, const Buffer& wire) {
  Pdu pdu;
  for (auto _ : state) {
    Frame f = peekFrame(wire.view());
    auto err = decode(f.pdu, pdu);
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(pdu);
  }
}

void BM_SubmitSmDecodeReencode(benchmark::State& s) {
  decodeReencode(s, typicalSubmitSm());
}
void BM_SubmitSmDecode(benchmark::State& s) {
  decodeOnly(s, typicalSubmitSm());
}
void BM_ReceiptDecodeReencode(benchmark::State& s) {
  decodeReencode(s, receiptDeliverSm());
}
void BM_ReceiptDecode(benchmark::State& s) {
  decodeOnly(s, receiptDeliverSm());
}
void BM_PatchSequence(benchmark::State& state) {
  Buffer wire = typicalSubmitSm();
  uint32_t seq = 1;
  for (auto _ : state) {
    patchSequence(wire.mutableView(), ++seq);
    benchmark::ClobberMemory();
  }
}

}  // namespace

BENCHMARK(BM_SubmitSmDecodeReencode);
BENCHMARK(BM_SubmitSmDecode);
BENCHMARK(BM_ReceiptDecodeReencode);
BENCHMARK(BM_ReceiptDecode);
BENCHMARK(BM_PatchSequence);
BENCHMARK_MAIN();
