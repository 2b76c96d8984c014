#include "server/vhost/response_scanner.hpp"

#include <algorithm>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace burrow::vhost {

namespace beast = boost::beast;
namespace http = beast::http;

std::string response_scanner::rewrite(std::string_view raw, const header_set& set,
                                      bool keep_alive) const {
    const bool connection_changes = keep_alive != this->keep_alive();
    std::string out(raw.substr(0, line_end_));
    for (const auto& f : fields_) {
        const auto name = raw.substr(f.at, f.name_size);
        if (connection_changes && f.name == http::field::connection) continue;
        if (std::any_of(set.begin(), set.end(),
                        [&](const auto& kv) { return beast::iequals(kv.first, name); }))
            continue;
        if (f.unfolded < 0)
            out.append(raw.substr(f.at, f.size));
        else
            out.append(name).append(": ").append(unfolded_[static_cast<std::size_t>(f.unfolded)]);
        out += "\r\n";
    }
    for (const auto& [name, value] : set) out.append(name).append(": ").append(value) += "\r\n";
    if (connection_changes && version_ >= 11 && !keep_alive) out += "Connection: close\r\n";
    if (connection_changes && version_ < 11 && keep_alive) out += "Connection: keep-alive\r\n";
    out += "\r\n";
    return out;
}

void response_scanner::on_request_impl(http::verb, string_view, string_view, int,
                                       error_code& ec) {
    ec = http::error::bad_method;  // a response parser is never asked this
}

void response_scanner::on_response_impl(int code, string_view reason, int version,
                                        error_code& ec) {
    status_ = code;
    version_ = version;
    framing_.version = version;
    line_end_ = offset(reason.data() + reason.size()) + 2;  // with its CRLF
    ec = {};
}

void response_scanner::on_field_impl(http::field name, string_view name_string, string_view value,
                                     error_code& ec) {
    const auto at = offset(name_string.data());
    place f{name, static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(name_string.size()),
            0, -1};
    if (in_input(value)) {
        f.size = static_cast<std::uint32_t>(offset(value.data() + value.size()) - at);
    } else {
        // Beast unfolded the value into a buffer of its own.
        f.unfolded = static_cast<int>(unfolded_.size());
        unfolded_.emplace_back(value.data(), value.size());
    }
    fields_.push_back(f);
    // Kept for response_framing_problem(); Beast already refused some mixes.
    if (name == http::field::transfer_encoding && framing_.te_count++ == 0)
        framing_.te = te_.assign(value.data(), value.size());
    if (name == http::field::content_length && framing_.cl_count++ == 0)
        framing_.cl = cl_.assign(value.data(), value.size());
    ec = {};
}

}  // namespace burrow::vhost
