#include "gateway/receipt_rewrite.h"

#include "codec/receipt.h"
#include "codec/splice.h"
#include "codec/tlv.h"

namespace smppgw {

bool receiptWanted(config::ReceiptPolicy policy, uint8_t registered_delivery,
                   const codec::Pdu& pdu) {
  const uint8_t esm = pdu.tryAs<codec::SmBody>()       ? pdu.as<codec::SmBody>().esm_class
                      : pdu.tryAs<codec::DataSmBody>() ? pdu.as<codec::DataSmBody>().esm_class
                                                       : 0;
  bool wanted = true;
  if (policy == config::ReceiptPolicy::Never) {
    wanted = false;
  } else {
    if ((esm & 0x3C) == 0x20) {
      wanted = (registered_delivery & 0x10) != 0;
    } else {
      // Only "on failure" (2) and "on success" (3) need the outcome: parse the text only then.
      auto delivered = [&] {
        uint32_t state = pdu.tlvs.integer(codec::tag::message_state).value_or(0);
        codec::Receipt r;
        if (state == 0) {
          if (const auto* sm = pdu.tryAs<codec::SmBody>();
              sm && codec::parseReceipt(sm->short_message, r)) {
            auto ms_state = codec::messageStateFromStat(r.stat);
            return ms_state && *ms_state == codec::MessageState::Delivered;
          }
        }
        return state == 2;
      };
      switch (registered_delivery & 0x03) {
        case 0:
          wanted = false;
          break;
        case 2:
          wanted = !delivered();
          break;
        case 3:
          wanted = delivered();
          break;
        default:
          break;
      }
    }
  }
  return wanted;
}

bool receiptFinal(const codec::Pdu& pdu) {
  const uint64_t state = pdu.tlvs.integer(codec::tag::message_state).value_or(0);
  if (state != 0) {
    const auto ms = codec::messageStateFromValue(static_cast<uint8_t>(state));
    return state <= 0xFF && ms && codec::isFinalState(*ms);
  }
  const auto* sm = pdu.tryAs<codec::SmBody>();
  codec::Receipt r;
  if (sm == nullptr || !codec::parseReceipt(sm->short_message, r)) {
    return false;
  }
  const auto ms = codec::messageStateFromStat(r.stat);
  return ms && codec::isFinalState(*ms);
}

void rewriteReceipt(const codec::Pdu& pdu, codec::Bytes raw, const store::MappingView& m,
                    std::string_view gateway_id, codec::Buffer& out) {
  // The MC's deliver_sm with the customer's view spliced in (not re-encoded): our id in the
  // receipt text and TLV, and the customer's own numbers (the receipt goes to the sender it used).
  codec::Splicer sp(raw);
  auto addresses = [&](const auto& body) {
    sp.text(body.source_addr, m.destination_addr);
    sp.text(body.destination_addr, m.source_addr);
  };
  if (const auto* sm = pdu.tryAs<codec::SmBody>()) {
    addresses(*sm);
    // Only the id inside the text changes (and sm_length with it).
    if (auto id = codec::receiptId(codec::asString(sm->short_message))) {
      const size_t len = sm->short_message.size() - id->size() + gateway_id.size();
      if (len <= 254) {
        sp.u8(sm->short_message.data() - 1, static_cast<uint8_t>(len));
        sp.text(*id, gateway_id);
      }
    }
  } else if (const auto* ds = pdu.tryAs<codec::DataSmBody>()) {
    addresses(*ds);
  }
  // TLVs: receipted_message_id carries our id; a text in message_payload is rewritten too.
  // The id is followed by a NUL in memory: the TLV's C-Octet String is there already.
  const codec::Bytes id_tlv(reinterpret_cast<const uint8_t*>(gateway_id.data()),
                            gateway_id.size() + 1);
  for (const codec::Tlv& t : pdu.tlvs) {
    if (t.tag == codec::tag::receipted_message_id) {
      sp.tlvValue(t, id_tlv);
    } else if (t.tag == codec::tag::message_payload) {
      const auto id = codec::receiptId(codec::asString(t.value()));
      if (id && t.length - id->size() + gateway_id.size() <= 0xFFFF) {
        sp.u16(t.ptr - 2, static_cast<uint16_t>(t.length - id->size() + gateway_id.size()));
        sp.text(*id, gateway_id);
      }
    }
  }
  sp.write(out, 0);  // the session sets its own sequence number
}

}  // namespace smppgw
