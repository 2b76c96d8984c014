#include "server/vhost/request_rewrite.hpp"

#include <algorithm>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include "common/host_names.hpp"
#include "server/vhost/table.hpp"

namespace burrow::vhost {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// Calls `f` with the value of each `name` field of `req`.
template <class F>
void for_each_value(const request& req, http::field name, F&& f) {
    for (auto [it, end] = req.equal_range(name); it != end; ++it)
        f(std::string_view(it->value().data(), it->value().size()));
}

bool contains(const token_list_view& tokens, std::string_view name) {
    return std::any_of(tokens.begin(), tokens.end(),
                       [&](std::string_view t) { return beast::iequals(t, name); });
}

void append_to_list(std::string& list, std::string_view element) {
    if (!list.empty()) list += ", ";
    list.append(element);
}

bool is_forwarding_field(std::string_view name) {
    // Forwarded (RFC 7239) too: a service that trusts it would take the
    // user's word for the address. Burrow's X-Forwarded-* say it instead.
    return beast::iequals(name, "x-forwarded-for") || beast::iequals(name, "x-forwarded-proto") ||
           beast::iequals(name, "x-forwarded-host") || beast::iequals(name, "x-real-ip") ||
           beast::iequals(name, "forwarded");
}

}  // namespace

token_list_view connection_tokens(const request& req) {
    token_list_view out;
    for_each_value(req, http::field::connection, [&](std::string_view value) {
        for (const auto& token : http::token_list(value))
            if (out.size() < out.capacity()) out.emplace_back(token.data(), token.size());
    });
    return out;
}

bool is_real_upgrade(const request& req, const token_list_view& connection) {
    const auto upgrade = req[http::field::upgrade];
    if (upgrade.empty() || !contains(connection, "upgrade")) return false;
    for (const auto& protocol : http::token_list(upgrade))
        if (beast::iequals(protocol.substr(0, 3), "h2c")) return false;
    return true;
}

void write_request_head(const request& req, const token_list_view& connection,
                        std::string_view request_target, const target& proxy,
                        const forwarded_for& user, bool upgrade, std::string& out) {
    const auto append = [&out](auto s) { out.append(s.data(), s.size()); };
    const auto field_line = [&](auto name, auto value) {
        append(name);
        out += ": ";
        append(value);
        out += "\r\n";
    };
    const auto dropped = [&](const auto& f) {
        const std::string_view name(f.name_string().data(), f.name_string().size());
        if (f.name() == http::field::host || has_underscore(name) || is_hop_by_hop(name) ||
            is_forwarding_field(name))
            return true;
        if (f.name() == http::field::authorization && !proxy.authorization.empty()) return true;
        if (!is_protected_field(name) && contains(connection, name)) return true;
        return std::any_of(proxy.request_headers.begin(), proxy.request_headers.end(),
                           [&](const auto& kv) { return beast::iequals(kv.first, name); });
    };

    out.clear();
    append(req.method_string());
    out += ' ';
    append(request_target);
    out += req.version() >= 11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n";
    field_line(std::string_view("Host"),
               proxy.host_header_rewrite.empty() ? user.host
                                                 : std::string_view(proxy.host_header_rewrite));
    std::string chain;  // X-Forwarded-For: what earlier proxies said, then the user
    for (const auto& f : req) {
        const std::string_view name(f.name_string().data(), f.name_string().size());
        if (beast::iequals(name, "x-forwarded-for") && !contains(connection, name)) {
            append_to_list(chain, std::string_view(f.value().data(), f.value().size()));
            continue;
        }
        if (!dropped(f)) field_line(name, f.value());
    }
    append_to_list(chain, user.peer_ip);
    field_line(std::string_view("X-Forwarded-For"), chain);
    field_line(std::string_view("X-Forwarded-Proto"), std::string_view("http"));
    field_line(std::string_view("X-Forwarded-Host"), user.host);
    field_line(std::string_view("X-Real-IP"), user.peer_ip);
    for (const auto& [name, value] : proxy.request_headers) field_line(name, value);
    if (upgrade) {
        field_line(std::string_view("Connection"), std::string_view("upgrade"));
        field_line(std::string_view("Upgrade"), req[http::field::upgrade]);
    } else if (req.version() < 11) {
        // Connection is hop-by-hop: the user's "close" ends the user's
        // connection, while the one to the service stays open (pooled).
        field_line(std::string_view("Connection"), std::string_view("keep-alive"));
    }
    out += "\r\n";
}

framing_fields framing_of(const request& req) {
    framing_fields f;
    f.version = req.version();
    for_each_value(req, http::field::transfer_encoding, [&](std::string_view v) {
        if (f.te_count++ == 0) f.te = v;
    });
    for_each_value(req, http::field::content_length, [&](std::string_view v) {
        if (f.cl_count++ == 0) f.cl = v;
    });
    return f;
}

std::optional<refusal> refuse_request(const request& req, request_target& where) {
    if (const auto problem = request_framing_problem(framing_of(req)); !problem.empty())
        return refusal{"The request framing is invalid.", std::string(problem)};
    if (const auto hosts = req.count(http::field::host);
        hosts > 1 || (hosts == 0 && req.version() >= 11))
        return refusal{"The request needs exactly one Host header.", {}};
    if (req.count(http::field::authorization) > 1)
        return refusal{"The request has more than one Authorization header.", {}};
    if (req.method() == http::verb::connect) {
        where = {};
        where.path = "/";  // authority-form, forwarded as it came
        return std::nullopt;
    }
    const std::string_view raw(req.target().data(), req.target().size());
    auto problem = parse_request_target(raw, where);
    if (problem.empty() && where.asterisk && req.method() != http::verb::options)
        problem = "the asterisk form with a method other than OPTIONS";
    if (!problem.empty())
        return refusal{"The request target is invalid.",
                       std::string(problem) + " ('" + printable(raw) + "')"};
    return std::nullopt;
}

}  // namespace burrow::vhost
