// The server's table of http/https proxies: registration results, URLs shown to
// users, and how an offline client's routes give way to a newcomer.
#include "server/vhost/table.hpp"

#include <gtest/gtest.h>

#include "burrow.pb.h"
#include "common/config.hpp"

namespace burrow::vhost {
namespace {

v1::ProxySpec spec(const std::string& name, const std::string& type,
                   std::vector<std::string> domains, std::vector<std::string> locations = {}) {
    v1::ProxySpec s;
    s.set_name(name);
    s.set_type(type);
    for (auto& d : domains) s.add_custom_domains(d);
    for (auto& l : locations) s.add_locations(l);
    return s;
}

class vhost_table_test : public ::testing::Test {
protected:
    vhost_table_test() {
        cfg.vhost_http_port = 80;
        cfg.vhost_https_port = 8443;
        cfg.subdomain_host = "example.com";
    }
    std::string add(const v1::ProxySpec& s) { return the_table().add(s, {}, urls); }
    table& the_table() {
        if (!table_) table_ = std::make_unique<table>(cfg);
        return *table_;
    }
    std::string http_owner(std::string_view host, std::string_view target = "/") {
        auto t = the_table().find_http(host, target);
        return t ? t->proxy : "";
    }

    server_config cfg;
    std::vector<std::string> urls;
    std::unique_ptr<table> table_;
};

TEST_F(vhost_table_test, urls_name_the_port_only_when_it_is_not_the_default) {
    auto s = spec("nas", "http", {"nas.example.org"}, {"/", "/api"});
    s.set_subdomain("home");
    ASSERT_EQ(add(s), "");
    EXPECT_EQ(urls, (std::vector<std::string>{"http://nas.example.org/", "http://nas.example.org/api",
                                              "http://home.example.com/", "http://home.example.com/api"}));
    ASSERT_EQ(add(spec("tls", "https", {"secure.example.org"})), "");
    EXPECT_EQ(urls, std::vector<std::string>{"https://secure.example.org:8443/"});
}

TEST_F(vhost_table_test, a_taken_domain_is_refused_until_its_client_goes_offline) {
    ASSERT_EQ(add(spec("a", "http", {"nas.example.org", "www.example.org"})), "");
    EXPECT_NE(add(spec("b", "http", {"nas.example.org"})).find("already used by proxy 'a'"),
              std::string::npos);
    EXPECT_EQ(http_owner("nas.example.org"), "a");

    the_table().set_offline("a");
    EXPECT_EQ(http_owner("nas.example.org"), "a");  // still routed: answers 502, not 404
    ASSERT_EQ(add(spec("b", "http", {"nas.example.org"})), "");
    EXPECT_EQ(http_owner("nas.example.org"), "b");
    // The offline proxy went as a whole, its other domain too.
    EXPECT_EQ(http_owner("www.example.org"), "");
}

TEST_F(vhost_table_test, the_same_name_coming_back_replaces_its_offline_self) {
    ASSERT_EQ(add(spec("a", "http", {"nas.example.org"})), "");
    EXPECT_NE(add(spec("a", "http", {"other.example.org"})), "");  // online: a duplicate
    the_table().set_offline("a");
    ASSERT_EQ(add(spec("a", "http", {"other.example.org"})), "");
    EXPECT_EQ(http_owner("nas.example.org"), "");
    EXPECT_EQ(http_owner("other.example.org"), "a");
}

TEST_F(vhost_table_test, removed_proxies_are_gone_and_http_and_https_are_separate) {
    ASSERT_EQ(add(spec("web", "http", {"nas.example.org"})), "");
    ASSERT_EQ(add(spec("tls", "https", {"nas.example.org"})), "");
    ASSERT_TRUE(the_table().find_https("NAS.example.org"));
    EXPECT_EQ(the_table().find_https("nas.example.org")->proxy, "tls");
    the_table().remove("web");
    EXPECT_EQ(http_owner("nas.example.org"), "");
    EXPECT_TRUE(the_table().find_https("nas.example.org"));
}

TEST_F(vhost_table_test, refusals_name_the_reason) {
    EXPECT_NE(add(spec("t", "https", {"a.example.org"}, {"/x"})).find("routed by server name only"),
              std::string::npos);
    auto s = spec("h", "http", {"a.example.org"});
    (*s.mutable_request_headers())["X-A"] = "a\r\nX-Injected: 1";
    EXPECT_NE(add(s).find("invalid name or value"), std::string::npos);
    // Framing is never a proxy's to set, whatever its client sends.
    for (const char* framing : {"Content-Length", "transfer-encoding", "Host", "Connection"}) {
        auto f = spec("f", "http", {"f.example.org"});
        (*f.mutable_request_headers())[framing] = "5";
        EXPECT_NE(add(f).find("invalid name or value"), std::string::npos) << framing;
    }
    cfg.vhost_https_port = 0;
    table_.reset();
    EXPECT_NE(add(spec("t", "https", {"a.example.org"})).find("vhost_https_port is off"),
              std::string::npos);
}

TEST(vhost_table, basic_authorization_is_the_header_a_browser_sends) {
    EXPECT_EQ(basic_authorization("u", "p"), "Basic dTpw");
    EXPECT_EQ(basic_authorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

}  // namespace
}  // namespace burrow::vhost
