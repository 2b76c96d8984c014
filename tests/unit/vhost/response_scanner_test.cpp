// A service's response header as the scanner keeps it: where its fields are
// in the bytes as they came, and the header rewritten from those places.
#include "server/vhost/response_scanner.hpp"

#include <string>

#include <gtest/gtest.h>

namespace burrow::vhost {
namespace {

// Feeds `text` to `scanner` `step` bytes at a time, keeping what it consumed
// as the relay does (parse_header); returns the kept header.
std::string scan(response_scanner& scanner, std::string_view text, std::size_t step = 4096) {
    scanner.header_limit(64 * 1024);
    std::string kept, pending;
    boost::system::error_code ec;
    for (std::size_t at = 0; !scanner.is_header_done() && at < text.size(); at += step) {
        pending.append(text.substr(at, step));
        const auto input = boost::asio::buffer(pending);
        scanner.at(input, kept.size());
        const auto used = scanner.put(input, ec);
        if (ec == boost::beast::http::error::need_more) ec = {};
        EXPECT_FALSE(ec) << ec.message();
        kept.append(pending, 0, used);
        pending.erase(0, used);
    }
    EXPECT_TRUE(scanner.is_header_done());
    return kept;
}

const std::string ok_header = "HTTP/1.1 200 OK\r\n"
                              "Content-Type: text/plain\r\n"
                              "Set-Cookie: a=1\r\n"
                              "Content-Length: 5\r\n"
                              "\r\n";

TEST(response_scanner, keeps_the_header_as_it_came_and_its_framing) {
    response_scanner scanner;
    EXPECT_EQ(scan(scanner, ok_header + "hello"), ok_header);
    EXPECT_EQ(scanner.status(), 200);
    EXPECT_TRUE(scanner.keep_alive());
    EXPECT_FALSE(scanner.must_rewrite());
    EXPECT_EQ(scanner.framing().version, 11);
    EXPECT_EQ(scanner.framing().cl_count, 1u);
    EXPECT_EQ(scanner.framing().cl, "5");
    EXPECT_EQ(scanner.framing().te_count, 0u);
    EXPECT_TRUE(response_framing_problem(scanner.framing()).empty());
}

TEST(response_scanner, rewrites_set_fields_in_place_of_the_services) {
    response_scanner scanner;
    const auto kept = scan(scanner, ok_header);
    EXPECT_EQ(scanner.rewrite(kept, {{"set-cookie", "b=2"}, {"X-Frame-Options", "DENY"}}, true),
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/plain\r\n"
              "Content-Length: 5\r\n"
              "set-cookie: b=2\r\n"
              "X-Frame-Options: DENY\r\n"
              "\r\n");
    EXPECT_EQ(scanner.rewrite(kept, {}, true), ok_header);
}

TEST(response_scanner, the_same_places_whatever_pieces_the_header_came_in) {
    for (std::size_t step : {1u, 2u, 7u, 64u}) {
        response_scanner scanner;
        const auto kept = scan(scanner, ok_header, step);
        EXPECT_EQ(kept, ok_header) << step;
        EXPECT_EQ(scanner.rewrite(kept, {{"X-A", "1"}}, false),
                  "HTTP/1.1 200 OK\r\n"
                  "Content-Type: text/plain\r\n"
                  "Set-Cookie: a=1\r\n"
                  "Content-Length: 5\r\n"
                  "X-A: 1\r\n"
                  "Connection: close\r\n"
                  "\r\n")
            << step;
    }
}

TEST(response_scanner, connection_says_what_burrow_decided) {
    response_scanner closing;
    const auto kept =
        scan(closing, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    EXPECT_FALSE(closing.keep_alive());
    // The user's connection stays although the service's does not.
    EXPECT_EQ(closing.rewrite(kept, {}, true), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

    response_scanner old;
    const auto kept10 = scan(old, "HTTP/1.0 204 No Content\r\nServer: x\r\n\r\n");
    EXPECT_FALSE(old.keep_alive());
    EXPECT_EQ(old.framing().version, 10);
    EXPECT_EQ(old.rewrite(kept10, {}, true),
              "HTTP/1.0 204 No Content\r\nServer: x\r\nConnection: keep-alive\r\n\r\n");
}

TEST(response_scanner, a_folded_value_is_never_passed_on_as_it_came) {
    response_scanner scanner;
    const auto kept =
        scan(scanner, "HTTP/1.1 200 OK\r\nX-Long: one\r\n two\r\nContent-Length: 0\r\n\r\n");
    EXPECT_TRUE(scanner.must_rewrite());
    const auto out = scanner.rewrite(kept, {}, true);
    EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\nX-Long: one")) << out;
    EXPECT_TRUE(out.ends_with("two\r\nContent-Length: 0\r\n\r\n")) << out;
    EXPECT_EQ(out.find("\r\n "), std::string::npos) << out;
}

TEST(response_scanner, framing_fields_for_the_checks) {
    response_scanner scanner;
    scan(scanner, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
    EXPECT_EQ(scanner.framing().te_count, 1u);
    EXPECT_EQ(scanner.framing().te, "gzip");
    EXPECT_TRUE(scanner.need_eof());  // until the connection closes: unambiguous
    EXPECT_TRUE(response_framing_problem(scanner.framing()).empty());
}

}  // namespace
}  // namespace burrow::vhost
