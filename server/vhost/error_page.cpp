#include "server/vhost/error_page.hpp"

#include <sstream>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

namespace burrow::vhost {

namespace http = boost::beast::http;

std::string error_page(http::status status, std::string_view detail, bool keep_alive,
                       http::field extra, std::string_view extra_value) {
    http::response<http::string_body> res{status, 11};
    res.set(http::field::server, "burrow");
    res.set(http::field::content_type, "text/html; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    if (extra != http::field::unknown) res.set(extra, extra_value);
    const auto reason = http::obsolete_reason(status);
    res.body() = fmt::format(
        "<!doctype html>\n<html><head><title>{0} {1}</title></head>\n"
        "<body><h1>{0} {1}</h1><p>{2}</p><hr><p>burrow</p></body></html>\n",
        static_cast<unsigned>(status), std::string_view(reason.data(), reason.size()), detail);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    std::ostringstream out;
    out << res;
    return std::move(out).str();
}

}  // namespace burrow::vhost
