// A user's request as it goes to the service: the request line in
// origin-form, the Host it was routed by, the user's fields without the
// hop-by-hop ones, and the X-Forwarded-* Burrow says itself. Pure code over a
// parsed request header (message.hpp): unit tests parse a string and look at
// what comes out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/container/small_vector.hpp>

#include "server/vhost/message.hpp"
#include "server/vhost/rules.hpp"

namespace burrow::vhost {

struct target;

// The tokens of a request's Connection header(s): fields it names are
// hop-by-hop (RFC 9110 7.6.1).
using token_list_view = boost::container::small_vector<std::string_view, 8>;
token_list_view connection_tokens(const request& req);

// Upgrade (WebSocket and the like) turns the connection into a byte pipe once
// the service answers 101. Not h2c: after it, one connection would carry
// requests that Burrow never routes or checks (h2c smuggling).
bool is_real_upgrade(const request& req, const token_list_view& connection);

// Who the user is, as Burrow tells the service. The user can neither remove
// these (by naming them in Connection) nor shadow them.
struct forwarded_for {
    std::string_view host;  // the Host the request was routed by
    std::string_view peer_ip;
};

// The request header as it goes to the service: `request_target` (origin-form), the
// Host it was routed by (or the proxy's rewrite), the user's fields in their
// order without hop-by-hop ones, names with '_', the Authorization that was
// Burrow's, and those Burrow sets; then Burrow's own. `connection` holds the
// request's Connection tokens (connection_tokens()), worked out once per request.
void write_request_head(const request& req, const token_list_view& connection,
                        std::string_view request_target, const target& proxy,
                        const forwarded_for& user, bool upgrade, std::string& out);

// The framing headers of a request, for request_framing_problem().
framing_fields framing_of(const request& req);

// Why a request is refused before it is routed (400, and the connection
// closed): a length a service could read differently from Burrow (on a
// shared upstream connection the rest of a body would become a request of its
// own: smuggling), no Host or two, two Authorization headers (which one was
// checked would be a guess), or a target that cannot be routed safely.
struct refusal {
    std::string_view detail;  // for the user's error page
    std::string log;          // for the server's log ("" when there is nothing to add)
};
// Nothing when the request may be routed; then `where` is its target as
// routed (RFC 9112 3.2.2: by the target's authority when it has one).
std::optional<refusal> refuse_request(const request& req, request_target& where);

}  // namespace burrow::vhost
