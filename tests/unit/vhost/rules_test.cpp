#include "server/vhost/rules.hpp"

#include <gtest/gtest.h>

namespace burrow::vhost {
namespace {

framing_fields fields(int version, std::size_t te_count, std::string_view te, std::size_t cl_count,
                      std::string_view cl) {
    return {version, te_count, cl_count, te, cl};
}

TEST(request_framing, a_single_chunked_or_one_plain_length_is_accepted) {
    EXPECT_EQ(request_framing_problem(fields(11, 0, "", 0, "")), "");
    EXPECT_EQ(request_framing_problem(fields(11, 1, "chunked", 0, "")), "");
    EXPECT_EQ(request_framing_problem(fields(11, 1, " Chunked ", 0, "")), "");
    EXPECT_EQ(request_framing_problem(fields(11, 0, "", 1, "42")), "");
    EXPECT_EQ(request_framing_problem(fields(10, 0, "", 1, "0")), "");
}

TEST(request_framing, anything_a_service_could_frame_differently_is_refused) {
    for (auto te : {"chunked, chunked", ",chunked", "chunked,", "gzip, chunked", "gzip",
                    "identity", "chunked;q=1", ""})
        EXPECT_NE(request_framing_problem(fields(11, 1, te, 0, "")), "") << te;
    EXPECT_NE(request_framing_problem(fields(11, 2, "chunked", 0, "")), "");
    EXPECT_NE(request_framing_problem(fields(10, 1, "chunked", 0, "")), "");
    EXPECT_NE(request_framing_problem(fields(11, 1, "chunked", 1, "5")), "");
    for (auto cl : {"3, 3", "+3", "-1", "3 3", "0x10", ""})
        EXPECT_NE(request_framing_problem(fields(11, 0, "", 1, cl)), "") << cl;
    EXPECT_NE(request_framing_problem(fields(11, 0, "", 2, "3")), "");
}

TEST(response_framing, close_delimited_codings_are_fine_ambiguous_ones_are_not) {
    EXPECT_EQ(response_framing_problem(fields(11, 1, "gzip, chunked", 0, "")), "");
    EXPECT_EQ(response_framing_problem(fields(11, 1, "gzip", 0, "")), "");
    EXPECT_EQ(response_framing_problem(fields(11, 0, "", 1, "10")), "");
    EXPECT_NE(response_framing_problem(fields(11, 1, "chunked, chunked", 0, "")), "");
    EXPECT_NE(response_framing_problem(fields(11, 1, "chunked, gzip", 0, "")), "");
    EXPECT_NE(response_framing_problem(fields(11, 1, "chunked", 1, "10")), "");
    EXPECT_NE(response_framing_problem(fields(11, 2, "chunked", 0, "")), "");
    EXPECT_NE(response_framing_problem(fields(11, 0, "", 1, "5, 5")), "");
}

std::string normalized(std::string_view raw) {
    std::string out;
    const auto problem = normalize_path(raw, out);
    return problem.empty() ? out : "error: " + std::string(problem);
}

TEST(normalize_path, resolves_dots_slashes_and_unreserved_escapes) {
    EXPECT_EQ(normalized("/"), "/");
    EXPECT_EQ(normalized("/a/b"), "/a/b");
    EXPECT_EQ(normalized("/a/b/"), "/a/b/");
    EXPECT_EQ(normalized("//admin/secret.txt"), "/admin/secret.txt");
    EXPECT_EQ(normalized("/./admin/x"), "/admin/x");
    EXPECT_EQ(normalized("/x/../admin/x"), "/admin/x");
    EXPECT_EQ(normalized("/../../admin"), "/admin");
    EXPECT_EQ(normalized("/%61dmin/x"), "/admin/x");
    EXPECT_EQ(normalized("/%2e/admin"), "/admin");
    EXPECT_EQ(normalized("/x/%2E%2e/admin"), "/admin");
    EXPECT_EQ(normalized("/a/b/.."), "/a/");
    EXPECT_EQ(normalized("/a/."), "/a/");
    EXPECT_EQ(normalized("/a//"), "/a/");
    EXPECT_EQ(normalized("/%7Euser"), "/~user");
    EXPECT_EQ(normalized("/.well-known/x"), "/.well-known/x");
    EXPECT_EQ(normalized("/a..b/...c"), "/a..b/...c");
    // Reserved and non-ASCII escapes stay as they came.
    EXPECT_EQ(normalized("/caf%C3%A9/%3F"), "/caf%C3%A9/%3F");
    // A parameter on a named segment stays; the location "/admin" covers it.
    EXPECT_EQ(normalized("/admin;x/secret"), "/admin;x/secret");
    EXPECT_EQ(normalized("/a/..x;y/b"), "/a/..x;y/b");
}

TEST(normalize_path, refuses_what_a_service_might_read_as_another_path) {
    for (auto raw : {"/admin%2fsecret", "/admin%2Fsecret", "/admin%5csecret", "/admin\\secret",
                     "/a%00b", "/a%", "/a%4", "/a%zz", "/a#frag", "relative", "", "/x/..;/admin",
                     "/.;/admin", "/;x/admin", "/x/%2e%2e;/admin", "/a/;"})
        EXPECT_EQ(normalized(raw).rfind("error: ", 0), 0u) << raw;
}

TEST(request_target, origin_absolute_and_asterisk_forms) {
    request_target t;
    EXPECT_EQ(parse_request_target("/a//b/./c/../d?q=1%2F", t), "");
    EXPECT_EQ(t.authority, "");
    EXPECT_EQ(t.origin_form(), "/a/b/d?q=1%2F");

    EXPECT_EQ(parse_request_target("http://Nas.Test:80//admin/x?y", t), "");
    EXPECT_EQ(t.authority, "Nas.Test:80");
    EXPECT_EQ(t.origin_form(), "/admin/x?y");

    EXPECT_EQ(parse_request_target("HTTP://nas.test", t), "");
    EXPECT_EQ(t.origin_form(), "/");
    EXPECT_EQ(parse_request_target("http://nas.test?x", t), "");
    EXPECT_EQ(t.origin_form(), "/?x");
    EXPECT_EQ(parse_request_target("/p?", t), "");
    EXPECT_EQ(t.origin_form(), "/p?");

    EXPECT_EQ(parse_request_target("*", t), "");
    EXPECT_EQ(t.path, "/");
    EXPECT_EQ(t.origin_form(), "*");

    for (auto bad : {"ftp://nas.test/", "http://user@nas.test/", "http:///x", "nas.test:443",
                     "http://nas.test/a%2fb", "/x?y#z"})
        EXPECT_NE(parse_request_target(bad, t), "") << bad;
}

TEST(hop_by_hop, fixed_names_and_protected_fields) {
    for (auto n : {"Connection", "keep-alive", "Proxy-Connection", "TE", "Upgrade", "HTTP2-Settings"})
        EXPECT_TRUE(is_hop_by_hop(n)) << n;
    for (auto n : {"Transfer-Encoding", "Content-Length", "Host", "Trailer", "X-Forwarded-For"})
        EXPECT_FALSE(is_hop_by_hop(n)) << n;
    for (auto n : {"Host", "content-length", "Transfer-Encoding"}) EXPECT_TRUE(is_protected_field(n));
    EXPECT_FALSE(is_protected_field("X-Real-IP"));
    EXPECT_TRUE(has_underscore("X_Real_IP"));
    EXPECT_FALSE(has_underscore("X-Real-IP"));
}

TEST(basic_credentials, scheme_is_case_insensitive_credentials_are_exact) {
    EXPECT_TRUE(basic_credentials_match("Basic bWU6cHc=", "Basic bWU6cHc="));
    EXPECT_TRUE(basic_credentials_match("basic bWU6cHc=", "Basic bWU6cHc="));
    EXPECT_TRUE(basic_credentials_match("BASIC   bWU6cHc= ", "Basic bWU6cHc="));
    EXPECT_FALSE(basic_credentials_match("Basic bWU6cHd=", "Basic bWU6cHc="));
    EXPECT_FALSE(basic_credentials_match("Bearer bWU6cHc=", "Basic bWU6cHc="));
    EXPECT_FALSE(basic_credentials_match("BasicbWU6cHc=", "Basic bWU6cHc="));
    EXPECT_FALSE(basic_credentials_match("", "Basic bWU6cHc="));
}

}  // namespace
}  // namespace burrow::vhost
