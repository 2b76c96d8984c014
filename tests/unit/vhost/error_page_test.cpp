// Burrow's own answers, as the bytes a user gets.
#include "server/vhost/error_page.hpp"

#include <string>

#include <gtest/gtest.h>

namespace burrow::vhost {
namespace {

namespace http = boost::beast::http;

std::string body_of(const std::string& page) { return page.substr(page.find("\r\n\r\n") + 4); }

TEST(error_page, a_page_that_says_the_status_and_why) {
    const auto page = error_page(http::status::not_found, "There is no service here.", true);
    const std::string body =
        "<!doctype html>\n<html><head><title>404 Not Found</title></head>\n"
        "<body><h1>404 Not Found</h1><p>There is no service here.</p><hr><p>burrow</p>"
        "</body></html>\n";
    EXPECT_EQ(page, "HTTP/1.1 404 Not Found\r\n"
                    "Server: burrow\r\n"
                    "Content-Type: text/html; charset=utf-8\r\n"
                    "Cache-Control: no-store\r\n"
                    "Content-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body);
}

TEST(error_page, one_extra_header_and_connection_close) {
    const auto page = error_page(http::status::unauthorized, "Authentication is required.", false,
                                 http::field::www_authenticate, "Basic realm=\"burrow\"");
    EXPECT_TRUE(page.starts_with("HTTP/1.1 401 Unauthorized\r\n")) << page;
    EXPECT_NE(page.find("\r\nWWW-Authenticate: Basic realm=\"burrow\"\r\n"), std::string::npos)
        << page;
    EXPECT_NE(page.find("\r\nConnection: close\r\n"), std::string::npos) << page;
    EXPECT_NE(page.find("\r\nContent-Length: " + std::to_string(body_of(page).size()) + "\r\n"),
              std::string::npos)
        << page;
}

}  // namespace
}  // namespace burrow::vhost
