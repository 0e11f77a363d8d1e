#pragma once
// Upstream message id normalisation: an MC may answer submit_sm with "1A2B3C" and later send
// the receipt with "1715004" (the same number in decimal), or with different case or leading
// zeros. normaliseMessageId() maps both to one canonical string per upstream's
// config::MessageIdNormalisation, so the gateway's (upstream, id) -> message mapping matches.
// Canonical form: the response's base; receipt ids are converted into it when the bases differ.
// Ids that do not parse in the declared base are kept as they are (then case/zeros apply).

#include <string>
#include <string_view>

#include "config/model.h"

namespace smppgw::routing {

enum class IdOrigin { Response, Receipt };

std::string normaliseMessageId(const config::MessageIdNormalisation& rule, std::string_view id,
                               IdOrigin origin);

}  // namespace smppgw::routing
