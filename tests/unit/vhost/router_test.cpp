#include "server/vhost/router.hpp"

#include <string>

#include <gtest/gtest.h>

namespace burrow::vhost {
namespace {

// The proxy name route() picks, or "" when nothing serves the request.
std::string served_by(const router& r, std::string_view host,
                      std::string_view target = "/") {
    const std::string* proxy = r.route(host, target);
    return proxy ? *proxy : "";
}

route_spec domains(std::string proxy, std::vector<std::string> custom_domains,
                         std::vector<std::string> locations = {}) {
    return {std::move(proxy), std::move(custom_domains), "", std::move(locations)};
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

// ---- domains ----

TEST(vhost_router, routes_exact_domains_case_insensitively_and_ignores_the_port) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("nas", {"NAS.Example.com"})), "");
    EXPECT_EQ(served_by(router, "nas.example.com"), "nas");
    EXPECT_EQ(served_by(router, "NAS.EXAMPLE.COM:8080"), "nas");
    EXPECT_EQ(served_by(router, "nas.example.com.", "/x"), "nas");
    EXPECT_EQ(served_by(router, "other.example.com"), "");
    EXPECT_EQ(served_by(router, "example.com"), "");
    EXPECT_EQ(router.size(), 1u);
}

TEST(vhost_router, registered_trailing_dot_is_the_same_domain) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("a", {"nas.example.com."})), "");
    EXPECT_EQ(served_by(router, "nas.example.com"), "a");
    EXPECT_NE(router.add(domains("b", {"nas.example.com"})), "");
}

TEST(vhost_router, wildcard_needs_at_least_one_more_label) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("wild", {"*.example.com"})), "");
    EXPECT_EQ(served_by(router, "a.example.com"), "wild");
    EXPECT_EQ(served_by(router, "a.b.example.com"), "wild");
    EXPECT_EQ(served_by(router, "A.Example.Com:443"), "wild");
    EXPECT_EQ(served_by(router, "example.com"), "");
    EXPECT_EQ(served_by(router, "badexample.com"), "");
    EXPECT_EQ(served_by(router, "a.example.org"), "");
}

TEST(vhost_router, exact_beats_any_wildcard) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("wild", {"*.example.com"})), "");
    ASSERT_EQ(router.add(domains("deep", {"*.nas.example.com"})), "");
    ASSERT_EQ(router.add(domains("nas", {"nas.example.com"})), "");
    EXPECT_EQ(served_by(router, "nas.example.com"), "nas");
    EXPECT_EQ(served_by(router, "x.nas.example.com"), "deep");
    EXPECT_EQ(served_by(router, "www.example.com"), "wild");
}

TEST(vhost_router, most_specific_wildcard_wins) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("com", {"*.com"})), "");
    ASSERT_EQ(router.add(domains("example", {"*.example.com"})), "");
    ASSERT_EQ(router.add(domains("b", {"*.b.example.com"})), "");
    EXPECT_EQ(served_by(router, "x.b.example.com"), "b");
    EXPECT_EQ(served_by(router, "a.x.b.example.com"), "b");
    EXPECT_EQ(served_by(router, "b.example.com"), "example");  // *.b.example.com needs more
    EXPECT_EQ(served_by(router, "y.example.com"), "example");
    EXPECT_EQ(served_by(router, "example.com"), "com");
    EXPECT_EQ(served_by(router, "other.com"), "com");
    EXPECT_EQ(served_by(router, "com"), "");
}

TEST(vhost_router, a_domain_without_a_matching_location_falls_through_to_wildcards) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("api", {"nas.example.com"}, {"/api"})), "");
    ASSERT_EQ(router.add(domains("wild", {"*.example.com"})), "");
    EXPECT_EQ(served_by(router, "nas.example.com", "/api/v1"), "api");
    EXPECT_EQ(served_by(router, "nas.example.com", "/index.html"), "wild");
}

// ---- subdomain ----

TEST(vhost_router, subdomain_lives_under_subdomain_host) {
    vhost::router router("Example.COM.");
    route_spec spec{"nas", {}, "NAS", {}};
    ASSERT_EQ(router.add(spec), "");
    EXPECT_EQ(served_by(router, "nas.example.com:8080"), "nas");
    EXPECT_EQ(served_by(router, "example.com"), "");

    // A subdomain and a custom domain name the same thing, so they conflict.
    EXPECT_EQ(router.add(domains("copy", {"nas.example.com"})),
              "domain nas.example.com location / is already used by proxy 'nas'");
}

TEST(vhost_router, subdomain_with_custom_domains_registers_both) {
    vhost::router router("example.com");
    route_spec spec{"nas", {"nas.example.org", "nas.example.com"}, "nas", {}};
    ASSERT_EQ(router.add(spec), "");
    EXPECT_EQ(router.size(), 2u);  // nas.example.com named twice counts once
    EXPECT_EQ(served_by(router, "nas.example.org"), "nas");
    EXPECT_EQ(served_by(router, "nas.example.com"), "nas");
}

TEST(vhost_router, subdomain_without_subdomain_host_is_an_error) {
    vhost::router router("");
    const auto err = router.add({"nas", {}, "nas", {}});
    EXPECT_TRUE(contains(err, "subdomain \"nas\"")) << err;
    EXPECT_TRUE(contains(err, "subdomain_host")) << err;
    EXPECT_EQ(router.size(), 0u);
}

TEST(vhost_router, subdomain_must_be_one_label) {
    vhost::router router("example.com");
    for (const char* bad : {"a.b", "*", "*.a", "a b", "a_b"})
        EXPECT_NE(router.add({"p", {}, bad, {}}), "") << bad;
    EXPECT_TRUE(contains(router.add({"p", {}, "a.b", {}}), "single label"));
    EXPECT_TRUE(contains(router.add({"p", {}, std::string(64, 'a'), {}}), "longer than 63"));
    EXPECT_EQ(router.size(), 0u);
}

TEST(vhost_router, a_proxy_needs_a_domain) {
    vhost::router router("example.com");
    EXPECT_EQ(router.add(domains("nas", {})),
              "proxy 'nas' has no domain: set custom_domains or subdomain");
    EXPECT_EQ(router.add(domains("", {"nas.example.com"})), "proxy name is empty");
    EXPECT_EQ(router.size(), 0u);
}

// ---- locations ----

TEST(vhost_router, default_location_serves_every_path) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("nas", {"nas.example.com"})), "");
    for (const char* target : {"/", "/a", "/a/b?c=d", "/?x", "//double", "*"})
        EXPECT_EQ(served_by(router, "nas.example.com", target), "nas") << target;
}

TEST(vhost_router, longest_location_wins_on_segment_boundaries) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("root", {"nas.example.com"}, {"/"})), "");
    ASSERT_EQ(router.add(domains("api", {"nas.example.com"}, {"/api"})), "");
    ASSERT_EQ(router.add(domains("v2", {"nas.example.com"}, {"/api/v2"})), "");
    EXPECT_EQ(router.size(), 3u);

    EXPECT_EQ(served_by(router, "nas.example.com", "/api"), "api");
    EXPECT_EQ(served_by(router, "nas.example.com", "/api/"), "api");
    EXPECT_EQ(served_by(router, "nas.example.com", "/api/x"), "api");
    EXPECT_EQ(served_by(router, "nas.example.com", "/api?x=1"), "api");
    EXPECT_EQ(served_by(router, "nas.example.com", "/api#frag"), "api");
    EXPECT_EQ(served_by(router, "nas.example.com", "/apiary"), "root");
    EXPECT_EQ(served_by(router, "nas.example.com", "/api/v2"), "v2");
    EXPECT_EQ(served_by(router, "nas.example.com", "/api/v2/users?id=/api"), "v2");
    EXPECT_EQ(served_by(router, "nas.example.com", "/api/v20"), "api");
    EXPECT_EQ(served_by(router, "nas.example.com", "/x?/api"), "root");
    EXPECT_EQ(served_by(router, "nas.example.com", "/"), "root");
}

TEST(vhost_router, location_with_trailing_slash_only_matches_below_it) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("dir", {"nas.example.com"}, {"/files/"})), "");
    EXPECT_EQ(served_by(router, "nas.example.com", "/files/"), "dir");
    EXPECT_EQ(served_by(router, "nas.example.com", "/files/a.txt"), "dir");
    EXPECT_EQ(served_by(router, "nas.example.com", "/files"), "");
    EXPECT_EQ(served_by(router, "nas.example.com", "/"), "");
}

TEST(vhost_router, absolute_form_targets_route_by_their_path) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("root", {"nas.example.com"})), "");
    ASSERT_EQ(router.add(domains("api", {"nas.example.com"}, {"/api"})), "");
    EXPECT_EQ(served_by(router, "nas.example.com", "http://nas.example.com/api/x?y"), "api");
    EXPECT_EQ(served_by(router, "nas.example.com", "HTTPS://nas.example.com:8443/api"), "api");
    EXPECT_EQ(served_by(router, "nas.example.com", "http://nas.example.com?/api"), "root");
    EXPECT_EQ(served_by(router, "nas.example.com", "http://nas.example.com"), "root");
    EXPECT_EQ(served_by(router, "nas.example.com", "api/x"), "root");
    EXPECT_EQ(served_by(router, "nas.example.com", ""), "root");
}

TEST(vhost_router, rejects_invalid_locations) {
    vhost::router router("");
    EXPECT_TRUE(contains(router.add(domains("p", {"a.com"}, {"api"})), "start with '/'"));
    EXPECT_TRUE(contains(router.add(domains("p", {"a.com"}, {""})), "start with '/'"));
    EXPECT_TRUE(contains(router.add(domains("p", {"a.com"}, {"/a b"})), "spaces"));
    EXPECT_TRUE(contains(router.add(domains("p", {"a.com"}, {"/a\nb"})), "control"));
    EXPECT_TRUE(contains(router.add(domains("p", {"a.com"}, {"/a?x=1"})), "'?'"));
    EXPECT_TRUE(contains(router.add(domains("p", {"a.com"}, {"/" + std::string(2000, 'a')})),
                         "longer than"));
    EXPECT_EQ(router.size(), 0u);
}

// ---- sharing, conflicts, removal ----

TEST(vhost_router, two_proxies_share_a_domain_by_location) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("web", {"nas.example.com"}, {"/"})), "");
    ASSERT_EQ(router.add(domains("api", {"nas.example.com"}, {"/api", "/graphql"})), "");
    EXPECT_EQ(served_by(router, "nas.example.com", "/index.html"), "web");
    EXPECT_EQ(served_by(router, "nas.example.com", "/api/users"), "api");
    EXPECT_EQ(served_by(router, "nas.example.com", "/graphql"), "api");
    EXPECT_EQ(router.size(), 3u);
}

TEST(vhost_router, conflict_refuses_the_newcomer_entirely) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("nas", {"nas.example.com"}, {"/api"})), "");

    // Its first domain is free, its second collides on /api: nothing of it may be added.
    EXPECT_EQ(router.add(domains("intruder", {"free.example.com", "NAS.example.com"},
                                 {"/", "/api"})),
              "domain nas.example.com location /api is already used by proxy 'nas'");
    EXPECT_EQ(router.size(), 1u);
    EXPECT_EQ(served_by(router, "free.example.com"), "");
    EXPECT_EQ(served_by(router, "nas.example.com", "/"), "");
    EXPECT_EQ(served_by(router, "nas.example.com", "/api"), "nas");

    // The refused proxy was not half-registered: it can try again once the domain is free.
    router.remove("nas");
    EXPECT_EQ(router.add(domains("intruder", {"free.example.com", "nas.example.com"},
                                 {"/", "/api"})),
              "");
    EXPECT_EQ(served_by(router, "nas.example.com", "/api"), "intruder");
    EXPECT_EQ(router.size(), 4u);
}

TEST(vhost_router, wildcard_and_exact_of_the_same_name_do_not_conflict) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("wild", {"*.example.com"})), "");
    ASSERT_EQ(router.add(domains("apex", {"example.com"})), "");
    EXPECT_EQ(router.add(domains("other", {"*.Example.com"})),
              "domain *.example.com location / is already used by proxy 'wild'");
    EXPECT_EQ(served_by(router, "example.com"), "apex");
    EXPECT_EQ(served_by(router, "a.example.com"), "wild");
}

TEST(vhost_router, a_proxy_name_registers_once) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("nas", {"a.example.com"})), "");
    EXPECT_EQ(router.add(domains("nas", {"b.example.com"})), "proxy 'nas' is already registered");
    EXPECT_EQ(served_by(router, "b.example.com"), "");
}

TEST(vhost_router, duplicates_within_one_proxy_count_once) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("nas", {"nas.example.com", "NAS.example.com."},
                                 {"/api", "/api", "/"})),
              "");
    EXPECT_EQ(router.size(), 2u);
}

TEST(vhost_router, remove_drops_every_route_of_the_proxy) {
    vhost::router router("example.com");
    ASSERT_EQ(router.add({"nas", {"nas.example.org", "*.nas.example.org"}, "nas", {"/", "/api"}}),
              "");
    ASSERT_EQ(router.add(domains("other", {"nas.example.org"}, {"/other"})), "");
    EXPECT_EQ(router.size(), 7u);

    router.remove("nas");
    EXPECT_EQ(router.size(), 1u);
    EXPECT_EQ(served_by(router, "nas.example.org", "/api"), "");
    EXPECT_EQ(served_by(router, "x.nas.example.org"), "");
    EXPECT_EQ(served_by(router, "nas.example.com"), "");
    EXPECT_EQ(served_by(router, "nas.example.org", "/other/x"), "other");

    router.remove("nas");      // twice is harmless
    router.remove("unknown");  // so is a stranger
    EXPECT_EQ(router.size(), 1u);
    router.remove("other");
    EXPECT_EQ(router.size(), 0u);

    // Everything is free again.
    EXPECT_EQ(router.add({"again", {"nas.example.org"}, "nas", {"/api"}}), "");
}

// ---- hostile and odd input ----

TEST(vhost_router, ipv6_and_malformed_hosts_route_nowhere) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("wild", {"*.com", "*.1", "*.2.1"})), "");
    ASSERT_EQ(router.add(domains("ip", {"127.0.0.1"})), "");
    EXPECT_EQ(served_by(router, "127.0.0.1:8080"), "ip");
    const std::string_view hosts[] = {
          "[::1]:80", "[::1]", "[::ffff:10.2.1]", "::1", "", " a.com", "a.com ", "a .com",
          "a\r\n.com", std::string_view("a.com\0", 6), "a..com", "*.com", ".", "[", "]", ":",
          ":80"};
    for (std::string_view host : hosts)
        EXPECT_EQ(served_by(router, host), "") << '"' << host << '"';
    EXPECT_EQ(served_by(router, std::string(100000, 'a') + ".com"), "");
    EXPECT_EQ(served_by(router, "a.com", std::string(100000, '/')), "wild");
}

TEST(vhost_router, rejects_invalid_domains_with_a_clear_message) {
    vhost::router router("");
    struct bad_domain {
        std::string domain;
        std::string reason;
    };
    const std::string label63(63, 'a');
    const bad_domain cases[] = {
        {"", "it is empty"},
        {".", "it is empty"},
        {"nas example.com", "character ' ' is not allowed"},
        {"nas_x.example.com", "character '_' is not allowed"},
        {"nas\x01.example.com", "character '\\x01' is not allowed"},
        {"caf\xc3\xa9.example.com", "punycode"},
        {"a..example.com", "empty label"},
        {".example.com", "empty label"},
        {"example.com..", "empty label"},
        {std::string(64, 'a') + ".com", "label is longer than 63"},
        {label63 + "." + label63 + "." + label63 + "." + label63, "longer than 253"},
        {"*." + label63 + "." + label63 + "." + label63 + "." + std::string(61, 'a'),
         "longer than 253"},
        {std::string(100000, 'a'), "longer than 253"},
        {"*", "bare \"*\""},
        {"*.", "bare \"*\""},
        {"a.*.example.com", "whole first label"},
        {"*a.example.com", "whole first label"},
        {"**.example.com", "whole first label"},
        {"*.*.example.com", "whole first label"},
        {"example.*", "whole first label"},
    };
    for (const auto& c : cases) {
        const auto err = router.add(domains("p", {"ok.example.com", c.domain}));
        EXPECT_TRUE(contains(err, "custom domain \"")) << err;
        EXPECT_TRUE(contains(err, c.reason)) << "domain: " << c.domain << "\nerror: " << err;
        EXPECT_LT(err.size(), 400u) << "hostile input must not blow up the message";
    }
    EXPECT_EQ(router.size(), 0u);

    // The edges that are still fine.
    std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'a');
    ASSERT_EQ(name253.size(), 253u);
    EXPECT_EQ(router.add(domains("long", {name253, "*.com", "xn--caf-dma.example.com",
                                          "a-b.example.com", "0.example.com"})),
              "");
    EXPECT_EQ(served_by(router, name253 + ".:8080"), "long");
    EXPECT_EQ(served_by(router, "XN--CAF-DMA.example.com"), "long");
}

TEST(vhost_router, bounds_the_routes_one_proxy_may_ask_for) {
    vhost::router router("");
    std::vector<std::string> many_domains;
    for (int i = 0; i < 40; ++i) many_domains.push_back("d" + std::to_string(i) + ".example.com");
    std::vector<std::string> many_locations;
    for (int i = 0; i < 40; ++i) many_locations.push_back("/l" + std::to_string(i));
    const auto err = router.add(domains("greedy", many_domains, many_locations));
    EXPECT_TRUE(contains(err, "at most 1024 routes")) << err;
    EXPECT_EQ(router.size(), 0u);

    many_locations.resize(25);  // 40 x 25 = 1000 is allowed
    EXPECT_EQ(router.add(domains("greedy", many_domains, many_locations)), "");
    EXPECT_EQ(router.size(), 1000u);
    EXPECT_EQ(served_by(router, "d39.example.com", "/l24/x"), "greedy");
    EXPECT_EQ(served_by(router, "d39.example.com", "/l25"), "");
}

TEST(vhost_router, many_proxies) {
    vhost::router router("example.com");
    for (int i = 0; i < 5000; ++i)
        ASSERT_EQ(router.add({"p" + std::to_string(i), {}, "s" + std::to_string(i), {}}), "");
    EXPECT_EQ(router.size(), 5000u);
    EXPECT_EQ(served_by(router, "s4321.example.com"), "p4321");
    for (int i = 0; i < 5000; i += 2) router.remove("p" + std::to_string(i));
    EXPECT_EQ(router.size(), 2500u);
    EXPECT_EQ(served_by(router, "s4320.example.com"), "");
    EXPECT_EQ(served_by(router, "s4321.example.com"), "p4321");
}

TEST(vhost_router, error_messages_escape_hostile_names) {
    vhost::router router("");
    ASSERT_EQ(router.add(domains("nas", {"nas.example.com"})), "");
    const auto err = router.add(domains("evil\n'name", {}));
    EXPECT_EQ(err, "proxy 'evil\\x0a\\x27name' has no domain: set custom_domains or subdomain");
}

}  // namespace
}  // namespace burrow::vhost
