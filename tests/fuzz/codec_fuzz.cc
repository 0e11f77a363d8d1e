// libFuzzer target over framer + decoder + re-encode. The input is a byte stream: frames are cut
// as a session would cut them; each decoded PDU must re-encode and decode to the same PDU, and
// each error must be a well-formed answer. Any crash, leak or sanitizer report is a bug.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "codec/decode.h"
#include "codec/encode.h"

using namespace smppgw::codec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes stream(data, size);
  // A small maximum keeps the interesting "exceeds max" path reachable.
  const uint32_t max_len = size > 0 && (data[0] & 1) ? 512 : kDefaultMaxCommandLength;
  Pdu pdu;
  Buffer out;
  size_t pos = 0;
  while (pos < stream.size()) {
    Frame f = peekFrame(stream.subspan(pos), max_len);
    if (f.state == Frame::State::NeedMore) {
      if (f.need <= stream.size() - pos) {
        std::abort();  // it asked for bytes it already had
      }
      break;
    }
    if (f.state == Frame::State::Error) {
      if (!f.error.close_connection || f.error.status != status::ESME_RINVCMDLEN) {
        std::abort();
      }
      break;
    }
    auto err = decode(f.pdu, pdu);
    if (err) {
      if (err->respond && err->status == 0) {
        std::abort();  // an error answer must carry an error status
      }
    } else {
      out.clear();
      encode(pdu, out);
      if (out.size() != encodedSize(pdu)) {
        std::abort();
      }
      Pdu again;
      if (decode(out.view(), again).has_value() || !(again == pdu)) {
        std::abort();
      }
    }
    pos += f.pdu.size();
  }
  return 0;
}
