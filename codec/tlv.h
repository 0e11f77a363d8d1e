#pragma once
// TLVs (optional parameters, v3.4 §5.3, v5.0 §4.8). A PDU keeps every TLV it received, known or
// not, as a view in wire order, so a proxy can re-emit them unchanged. Known tags are typed by
// the definition table in tlv.cc (size rules, name, v5.0-only flag).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "codec/bytes.h"

namespace smppgw::codec {

// X(name, tag, kind, min_len, max_len, v50_only). Int values are big-endian of their length;
// CString lengths include the NUL (a missing NUL is tolerated on decode).
#define SMPPGW_TLVS(X)                                           \
  X(dest_addr_subunit, 0x0005, Int, 1, 1, false)                 \
  X(dest_network_type, 0x0006, Int, 1, 1, false)                 \
  X(dest_bearer_type, 0x0007, Int, 1, 1, false)                  \
  X(dest_telematics_id, 0x0008, Int, 2, 2, false)                \
  X(source_addr_subunit, 0x000D, Int, 1, 1, false)               \
  X(source_network_type, 0x000E, Int, 1, 1, false)               \
  X(source_bearer_type, 0x000F, Int, 1, 1, false)                \
  X(source_telematics_id, 0x0010, Int, 1, 2, false)              \
  X(qos_time_to_live, 0x0017, Int, 4, 4, false)                  \
  X(payload_type, 0x0019, Int, 1, 1, false)                      \
  X(additional_status_info_text, 0x001D, CString, 1, 256, false) \
  X(receipted_message_id, 0x001E, CString, 1, 65, false)         \
  X(ms_msg_wait_facilities, 0x0030, Int, 1, 1, false)            \
  X(privacy_indicator, 0x0201, Int, 1, 1, false)                 \
  X(source_subaddress, 0x0202, Octets, 2, 23, false)             \
  X(dest_subaddress, 0x0203, Octets, 2, 23, false)               \
  X(user_message_reference, 0x0204, Int, 2, 2, false)            \
  X(user_response_code, 0x0205, Int, 1, 1, false)                \
  X(source_port, 0x020A, Int, 2, 2, false)                       \
  X(destination_port, 0x020B, Int, 2, 2, false)                  \
  X(sar_msg_ref_num, 0x020C, Int, 2, 2, false)                   \
  X(language_indicator, 0x020D, Int, 1, 1, false)                \
  X(sar_total_segments, 0x020E, Int, 1, 1, false)                \
  X(sar_segment_seqnum, 0x020F, Int, 1, 1, false)                \
  X(sc_interface_version, 0x0210, Int, 1, 1, false)              \
  X(callback_num_pres_ind, 0x0302, Int, 1, 1, false)             \
  X(callback_num_atag, 0x0303, Octets, 0, 65, false)             \
  X(number_of_messages, 0x0304, Int, 1, 1, false)                \
  X(callback_num, 0x0381, Octets, 4, 19, false)                  \
  X(dpf_result, 0x0420, Int, 1, 1, false)                        \
  X(set_dpf, 0x0421, Int, 1, 1, false)                           \
  X(ms_availability_status, 0x0422, Int, 1, 1, false)            \
  X(network_error_code, 0x0423, Octets, 3, 3, false)             \
  X(message_payload, 0x0424, Octets, 0, 65535, false)            \
  X(delivery_failure_reason, 0x0425, Int, 1, 1, false)           \
  X(more_messages_to_send, 0x0426, Int, 1, 1, false)             \
  X(message_state, 0x0427, Int, 1, 1, false)                     \
  X(congestion_state, 0x0428, Int, 1, 1, true)                   \
  X(ussd_service_op, 0x0501, Int, 1, 1, false)                   \
  X(broadcast_channel_indicator, 0x0600, Int, 1, 1, true)        \
  X(broadcast_content_type, 0x0601, Octets, 3, 3, true)          \
  X(broadcast_content_type_info, 0x0602, Octets, 0, 255, true)   \
  X(broadcast_message_class, 0x0603, Int, 1, 1, true)            \
  X(broadcast_rep_num, 0x0604, Int, 1, 2, true)                  \
  X(broadcast_frequency_interval, 0x0605, Octets, 3, 3, true)    \
  X(broadcast_area_identifier, 0x0606, Octets, 1, 101, true)     \
  X(broadcast_error_status, 0x0607, Int, 4, 4, true)             \
  X(broadcast_area_success, 0x0608, Int, 1, 1, true)             \
  X(broadcast_end_time, 0x0609, CString, 1, 17, true)            \
  X(broadcast_service_group, 0x060A, Octets, 0, 255, true)       \
  X(billing_identification, 0x060B, Octets, 0, 1024, true)       \
  X(source_network_id, 0x060D, CString, 1, 65, true)             \
  X(dest_network_id, 0x060E, CString, 1, 65, true)               \
  X(source_node_id, 0x060F, Octets, 6, 6, true)                  \
  X(dest_node_id, 0x0610, Octets, 6, 6, true)                    \
  X(dest_addr_np_resolution, 0x0611, Int, 1, 1, true)            \
  X(dest_addr_np_information, 0x0612, Octets, 10, 10, true)      \
  X(dest_addr_np_country, 0x0613, Octets, 5, 5, true)            \
  X(display_time, 0x1201, Int, 1, 1, false)                      \
  X(sms_signal, 0x1203, Int, 2, 2, false)                        \
  X(ms_validity, 0x1204, Octets, 1, 4, false)                    \
  X(alert_on_message_delivery, 0x130C, Int, 0, 1, false)         \
  X(its_reply_type, 0x1380, Int, 1, 1, false)                    \
  X(its_session_info, 0x1383, Octets, 2, 2, false)

namespace tag {
enum : uint16_t {
#define SMPPGW_X(name, tag, kind, min, max, v50) name = tag,
  SMPPGW_TLVS(SMPPGW_X)
#undef SMPPGW_X
};
}  // namespace tag

enum class TlvKind : uint8_t { Int, CString, Octets };

struct TlvDef {
  std::string_view name;
  uint16_t tag;
  TlvKind kind;
  uint16_t min_len;
  uint16_t max_len;
  bool v50_only;  // not sent to a peer bound with interface_version 0x34
};

// The definition of a standard tag, or nullptr (vendor-specific or unknown).
const TlvDef* findTlvDef(uint16_t tag);
// The standard name, "vendor/unknown" otherwise.
std::string_view tlvName(uint16_t tag);
// v5.0-only tags: congestion_state and the 0x0600-0x0613 range.
bool isV50OnlyTlv(uint16_t tag);

// One TLV as a view: either into the decoded PDU's bytes, or into `small` for integers the
// program set itself (so a Tlv stays trivially copyable and needs no storage of its own).
struct Tlv {
  uint16_t tag = 0;
  uint16_t length = 0;           // value length on the wire
  const uint8_t* ptr = nullptr;  // nullptr: the value is in small[]
  uint8_t small[4] = {};
  bool append_nul = false;  // value() holds length-1 bytes; the encoder adds the NUL

  Bytes value() const {
    size_t n = append_nul ? length - 1u : length;
    return {ptr != nullptr ? ptr : small, n};
  }
  // Big-endian integer of 0-4 octets (0 for an empty value).
  uint32_t integer() const;
  // The value as a string without its trailing NUL (if any).
  std::string_view text() const;
  bool sameWire(const Tlv& o) const;
};

// Ordered TLVs of one PDU. The first 8 live inline: no allocation for the common cases.
class TlvList {
 public:
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const Tlv* begin() const { return items_.begin(); }
  const Tlv* end() const { return items_.end(); }
  const Tlv& operator[](size_t i) const { return items_[i]; }
  void clear() { items_.clear(); }

  const Tlv* find(uint16_t tag) const;
  bool has(uint16_t tag) const { return find(tag) != nullptr; }
  std::optional<uint32_t> integer(uint16_t tag) const;
  std::optional<std::string_view> text(uint16_t tag) const;
  std::optional<Bytes> bytes(uint16_t tag) const;

  void add(const Tlv& t) { items_.push_back(t); }
  void addInt(uint16_t tag, uint32_t value, uint8_t width);
  void addU8(uint16_t tag, uint8_t v) { addInt(tag, v, 1); }
  void addU16(uint16_t tag, uint16_t v) { addInt(tag, v, 2); }
  void addU32(uint16_t tag, uint32_t v) { addInt(tag, v, 4); }
  // The bytes must outlive the PDU (they are not copied).
  void addBytes(uint16_t tag, Bytes value);
  // Sent as a C-Octet String: the encoder appends the NUL. `s` must outlive the PDU.
  void addCString(uint16_t tag, std::string_view s);
  // Removes every TLV with this tag; returns how many were removed.
  size_t remove(uint16_t tag);
  // Bytes these TLVs take on the wire.
  size_t wireSize() const;

  friend bool operator==(const TlvList& a, const TlvList& b);

 private:
  SmallVec<Tlv, 8> items_;
};

}  // namespace smppgw::codec
