// The answers of Burrow's own (400, 404, 502, ...): a small HTML page, as
// the bytes that go to the user. Pure code, so the page is unit-tested and
// the connection only writes a string.
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>

namespace burrow::vhost {

// `status` with `detail` for the user, and at most one extra header (Allow,
// Retry-After, WWW-Authenticate). `keep_alive`: the connection serves the
// next request; otherwise the answer says Connection: close.
std::string error_page(boost::beast::http::status status, std::string_view detail,
                       bool keep_alive,
                       boost::beast::http::field extra = boost::beast::http::field::unknown,
                       std::string_view extra_value = {});

}  // namespace burrow::vhost
