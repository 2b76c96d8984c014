// Unit tests for common/config/checks: the rules config values follow, which the
// server applies again to what clients register (one rule, one strictness).
#include "common/config/checks.hpp"

#include <cctype>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace burrow {
namespace {

TEST(name_problem, allows_1_to_64_of_a_small_ascii_alphabet) {
    EXPECT_EQ(name_problem("My.ssh_2-b"), "");
    EXPECT_EQ(name_problem(std::string(64, 'a')), "");
    EXPECT_EQ(name_problem(""), "must not be empty");
    EXPECT_EQ(name_problem(std::string(65, 'a')), "is 65 characters long; at most 64 are allowed");
    EXPECT_EQ(name_problem("my ssh"), "\"my ssh\" may only contain letters, digits, '.', '_' and '-'");
    for (const char* bad : {"ssh/1", "a:b", "a\nb", "caf\xc3\xa9", "a\tb", "*"}) {
        SCOPED_TRACE(bad);
        EXPECT_NE(name_problem(bad), "");
    }
    EXPECT_NE(name_problem(std::string("a\0b", 3)), "");
}

TEST(header_problem, accepts_plain_headers) {
    EXPECT_EQ(header_problem("X-Forwarded-User", "alice"), "");
    EXPECT_EQ(header_problem("x-custom!#$%&'*+.^_`|~", "a value: with \"anything\" else"), "");
    EXPECT_EQ(header_problem("Cache-Control", ""), "");
}

TEST(header_problem, names_must_be_tokens) {
    for (const char* bad : {"", "X A", "X:A", "X\rA", "X\nA", "X(A)", "X\tA", "X/A", "caf\xc3\xa9"}) {
        SCOPED_TRACE(bad);
        EXPECT_EQ(header_problem(bad, "v"), "is not a valid header name");
    }
}

// The server's registration used to let these through: a proxy must never set
// how a message is framed, whatever the case.
TEST(header_problem, framing_headers_cannot_be_set_in_any_case) {
    for (const char* name : {"Content-Length", "content-length", "Transfer-Encoding", "TRANSFER-ENCODING",
                             "Connection", "Upgrade", "TE", "Trailer", "Keep-Alive", "Proxy-Connection"}) {
        SCOPED_TRACE(name);
        EXPECT_EQ(header_problem(name, "1"), "frames the message and cannot be set");
    }
    EXPECT_EQ(header_problem("Host", "a.example.com"), "cannot be set here; use host_header_rewrite");
    EXPECT_EQ(header_problem("hOsT", "a"), "cannot be set here; use host_header_rewrite");
}

TEST(header_problem, values_have_no_line_break_or_nul) {
    EXPECT_EQ(header_problem("X-A", "a\r\nX-Injected: 1"), "value contains a line break or NUL");
    EXPECT_EQ(header_problem("X-A", "a\nb"), "value contains a line break or NUL");
    EXPECT_EQ(header_problem("X-A", "a\rb"), "value contains a line break or NUL");
    EXPECT_EQ(header_problem("X-A", std::string("a\0b", 3)), "value contains a line break or NUL");
}

TEST(parse_port_range, is_strict) {
    port_range r;
    ASSERT_TRUE(parse_port_range("7022", r));
    EXPECT_EQ(r.first, 7022);
    EXPECT_EQ(r.last, 7022);
    ASSERT_TRUE(parse_port_range("1-65535", r));
    EXPECT_EQ(r.first, 1);
    EXPECT_EQ(r.last, 65535);
    ASSERT_TRUE(parse_port_range("6000-6100", r));
    EXPECT_EQ(r.first, 6000);
    EXPECT_EQ(r.last, 6100);

    for (const char* bad : {"", "0", "65536", "-", "6000-", "-6100", "6100-6000", "6000 -6100", " 7022", "7022 ",
                            "+7022", "0x50", "1-2-3", "6000--6100", "abc", "99999999999", "0-10"}) {
        SCOPED_TRACE(bad);
        port_range untouched{1, 2};
        EXPECT_FALSE(parse_port_range(bad, untouched));
        EXPECT_EQ(untouched.first, 1);  // a failed parse leaves the output alone
        EXPECT_EQ(untouched.last, 2);
    }
}

TEST(port_range_problem, says_what_is_wrong) {
    port_range r;
    EXPECT_EQ(port_range_problem("6000-6100", r), "");
    EXPECT_EQ(port_range_problem("7000-6000", r), "port range \"7000-6000\" is empty: 7000 is greater than 6000");
    EXPECT_EQ(port_range_problem("x", r),
              "malformed port range \"x\" (expected a port 1..65535 like \"7022\" or a range like \"6000-6100\")");
}

TEST(log_level_problem, knows_the_six_levels) {
    for (const char* level : {"trace", "debug", "info", "warn", "error", "off"}) EXPECT_EQ(log_level_problem(level), "");
    EXPECT_EQ(log_level_problem("verbose"),
              "unknown log level \"verbose\" (expected trace, debug, info, warn, error or off)");
    EXPECT_NE(log_level_problem("INFO"), "");
    EXPECT_NE(log_level_problem(""), "");
}

TEST(subdomain_host_problem, wants_a_plain_domain) {
    EXPECT_EQ(subdomain_host_problem("example.com"), "");
    EXPECT_EQ(subdomain_host_problem("Example.COM"), "");
    EXPECT_EQ(subdomain_host_problem("*.example.com"), "must be a plain domain such as example.com");
    EXPECT_NE(subdomain_host_problem("exa mple.com"), "");
    EXPECT_NE(subdomain_host_problem("*"), "");
}

TEST(subdomain_problem, wants_one_label) {
    EXPECT_EQ(subdomain_problem("nas"), "");
    EXPECT_EQ(subdomain_problem("a.b"), "must be a single label such as \"nas\"");
    EXPECT_NE(subdomain_problem("*"), "");
    EXPECT_NE(subdomain_problem("n_s"), "");
}

TEST(normalize_fingerprint, accepts_bare_or_colon_pairs_in_any_case) {
    const std::string hex = "3fa29c410bd76e58c1942a7fe013b8654d9e07c25af1863bd4702e9f1ca85be6";
    EXPECT_EQ(normalize_fingerprint("sha256:" + hex), "sha256:" + hex);
    std::string upper = "SHA256:";
    std::string colons = "sha256:";
    for (std::size_t i = 0; i < hex.size(); ++i) {
        upper += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i])));
        if (i > 0 && i % 2 == 0) colons += ':';
        colons += hex[i];
    }
    EXPECT_EQ(normalize_fingerprint(upper), "sha256:" + hex);
    EXPECT_EQ(normalize_fingerprint(colons), "sha256:" + hex);
    const std::vector<std::string> malformed = {"", "sha256:", "sha1:" + hex, hex, "sha256:" + hex.substr(1),
                                                "sha256:" + hex + "0", "sha256:" + hex.substr(1) + "g",
                                                colons + ":", colons.substr(0, colons.size() - 1) + "::"};
    for (const auto& bad : malformed) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(normalize_fingerprint(bad));
    }
}

}  // namespace
}  // namespace burrow
