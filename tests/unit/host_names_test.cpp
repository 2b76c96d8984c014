// Host names as peers send them, normalised the one way the config and the
// vhost router share.
#include "common/host_names.hpp"

#include <string>

#include <gtest/gtest.h>

namespace burrow {
namespace {

std::string normalized(std::string_view raw) {
    std::string out = "stale";
    return normalize_host(raw, out) ? out : "<invalid:" + out + ">";
}

TEST(vhost_normalize_host, lowercases_and_drops_port_and_trailing_dot) {
    EXPECT_EQ(normalized("NAS.Example.com:8080"), "nas.example.com");
    EXPECT_EQ(normalized("example.com."), "example.com");
    EXPECT_EQ(normalized("Example.COM.:80"), "example.com");
    EXPECT_EQ(normalized("localhost"), "localhost");
    EXPECT_EQ(normalized("127.0.0.1:8080"), "127.0.0.1");
    EXPECT_EQ(normalized("example.com:"), "example.com");  // empty port, as RFC 3986 allows
    EXPECT_EQ(normalized("example.com:65535"), "example.com");
}

TEST(vhost_normalize_host, accepts_ipv6_literals_without_brackets) {
    EXPECT_EQ(normalized("[::1]:80"), "::1");
    EXPECT_EQ(normalized("[::1]"), "::1");
    EXPECT_EQ(normalized("[2001:DB8::1]"), "2001:db8::1");
    EXPECT_EQ(normalized("[::ffff:192.0.2.1]:8080"), "::ffff:192.0.2.1");
}

TEST(vhost_normalize_host, rejects_garbage_and_clears_the_output) {
    const std::string_view bad_hosts[] = {
          "", "nas example.com", " example.com", "example.com ", "exa\tmple.com",
          std::string_view("exa\0mple.com", 12), "exa\x7fmple.com", "exa\x01mple.com", "a..b",
          ".example.com", ".", "..", "example.com..", "user@example.com", "example.com/x",
          "a_b.example.com", "caf\xc3\xa9.example.com", "*.example.com",
          "example.com:http", "example.com:65536", "example.com:123456", "example.com:-1",
          "example.com:80:80", "::1", "[::1", "[::1]x", "[::1]:x", "[]", "[127.0.0.1]",
          "[::g]", "[::1%25eth0]"};
    for (std::string_view bad : bad_hosts) {
        std::string out = "stale";
        EXPECT_FALSE(normalize_host(bad, out)) << '"' << bad << '"';
        EXPECT_EQ(out, "") << '"' << bad << '"';
    }
}

TEST(vhost_normalize_host, bounds_labels_names_and_the_raw_value) {
    const std::string label63(63, 'a');
    EXPECT_EQ(normalized(label63 + ".com"), label63 + ".com");
    EXPECT_EQ(normalized(std::string(64, 'a') + ".com"), "<invalid:>");

    // 4 x 63 + 3 dots = 255; trim to exactly 253 and 254.
    std::string name = label63 + "." + label63 + "." + label63 + "." + label63;
    name.resize(253);
    ASSERT_NE(name.back(), '.');
    EXPECT_EQ(normalized(name), name);
    EXPECT_EQ(normalized(name + "."), name);
    EXPECT_EQ(normalized(name + ".:65535"), name);
    EXPECT_EQ(normalized(name + "a"), "<invalid:>");

    EXPECT_EQ(normalized(std::string(100000, 'a')), "<invalid:>");
    EXPECT_EQ(normalized("[" + std::string(100, ':') + "]"), "<invalid:>");
    EXPECT_EQ(normalized("example.com:" + std::string(1000, '0')), "<invalid:>");
}

}  // namespace
}  // namespace burrow
