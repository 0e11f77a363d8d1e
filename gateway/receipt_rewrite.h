#pragma once
// A carrier's receipt as its customer gets it: whether the customer asked for it, and the
// carrier's deliver_sm with the customer's view spliced in (the gateway's message id in the text
// and in receipted_message_id, the customer's own numbers). Pure functions: no state, no I/O.

#include <cstdint>
#include <string_view>

#include "codec/bytes.h"
#include "codec/pdu.h"
#include "config/model.h"
#include "store/mapping_store.h"

namespace smppgw {

// Did the customer ask for this receipt? `registered_delivery` is what the customer sent
// (reference §6.2); `always` asked the carrier for every receipt, but the customer gets only
// those it asked for itself; `never` none.
bool receiptWanted(config::ReceiptPolicy policy, uint8_t registered_delivery,
                   const codec::Pdu& pdu);

// Does this receipt report a final state (message_state, else the text's stat: word)? An
// intermediate or unknown word (ENROUTE, a carrier's own) is not final: more may follow.
bool receiptFinal(const codec::Pdu& pdu);

// Appends to `out` the carrier's receipt `raw` (decoded as `pdu`) with `gateway_id` in place of
// the carrier's id (text and TLVs) and source/destination swapped back to the customer's own
// (the receipt goes to the sender it used). `gateway_id` must be followed by a NUL in memory
// (formatMessageId leaves one). The sequence number is left 0: the session sets it.
void rewriteReceipt(const codec::Pdu& pdu, codec::Bytes raw, const store::MappingView& m,
                    std::string_view gateway_id, codec::Buffer& out);

}  // namespace smppgw
