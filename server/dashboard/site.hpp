// site: what the dashboard answers to one HTTP request: the embedded page and
// its files, the JSON API under /api/v1/, /metrics and /healthz; access,
// CSRF and the security headers of every answer. No I/O of its own
// (dashboard.cpp reads and writes); thread-safe.
#pragma once

#include <string>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/dashboard/access.hpp"

namespace burrow {
struct server_state;
}

namespace burrow::dashboard {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

class site {
public:
    explicit site(server_state& st);
    response handle(const request& req, const boost::asio::ip::address& from);
    bool open() const { return access_.open(); }

private:
    response api(const request& req, std::string_view path, const boost::asio::ip::address& from);
    response action(const request& req, std::string_view path, const access::pass& who);
    response login(const request& req, const boost::asio::ip::address& from);
    response file(const request& req, std::string_view path);

    server_state& st_;
    access access_;
    std::atomic<std::uint64_t> login_failures_{0};
};

}  // namespace burrow::dashboard
