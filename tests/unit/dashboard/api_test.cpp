#include "server/dashboard/api.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace burrow::dashboard {
namespace {

namespace json = boost::json;

TEST(dashboard_api, sessions_have_string_ids_and_every_field) {
    live::session_view s{18446744073709551615u, "nas", "home", "127.0.0.1:4", "relay", 12.5, 3, 4};
    auto v = json::parse(sessions_json({s}));
    const auto& o = v.at("sessions").at(0);
    EXPECT_EQ(o.at("id").as_string(), "18446744073709551615");
    EXPECT_EQ(o.at("proxy").as_string(), "nas");
    EXPECT_EQ(o.at("client").as_string(), "home");
    EXPECT_EQ(o.at("user_addr").as_string(), "127.0.0.1:4");
    EXPECT_EQ(o.at("opened_at").as_double(), 12.5);
    EXPECT_EQ(o.at("bytes_in").to_number<std::uint64_t>(), 3u);
    EXPECT_EQ(o.at("bytes_out").to_number<std::uint64_t>(), 4u);
    EXPECT_EQ(o.at("path").as_string(), "relay");
}

TEST(dashboard_api, names_from_clients_are_escaped_in_json) {
    live::proxy_view p;
    p.info = {"we\"ird</script>", "tcp", "ho\nme", 1, 6000, {}};
    auto v = json::parse(proxies_json({p}));
    EXPECT_EQ(v.at("proxies").at(0).at("name").as_string(), "we\"ird</script>");
    EXPECT_EQ(v.at("proxies").at(0).at("port").to_number<int>(), 6000);
    p.info.port = 0;
    EXPECT_TRUE(json::parse(proxies_json({p})).at("proxies").at(0).at("port").is_null());
}

TEST(dashboard_api, parse_login_takes_two_strings_only) {
    auto c = parse_login(R"({"user":"admin","password":"p w"})");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->user, "admin");
    EXPECT_EQ(c->password, "p w");
    EXPECT_FALSE(parse_login(R"({"user":"admin"})"));
    EXPECT_FALSE(parse_login(R"({"user":1,"password":"x"})"));
    EXPECT_FALSE(parse_login("user=admin&password=x"));
    EXPECT_FALSE(parse_login("[]"));
    EXPECT_FALSE(parse_login(std::string(5000, ' ')));
}

TEST(dashboard_api, metrics_label_values_are_escaped_and_every_family_is_typed) {
    live::proxy_view p;
    p.info = {"a\"b\\c", "tcp", "home", 1, 6000, {}};
    p.bytes_out = 42;
    overview o;
    o.totals.sessions = 1;
    o.heap_in_use = 5 << 20;
    auto text = metrics_text(o, {}, {p});
    EXPECT_NE(text.find(R"(burrow_proxy_bytes_out_total{proxy="a\"b\\c",type="tcp",client="home"} 42)"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("# TYPE burrow_connections gauge\nburrow_connections 1\n"), std::string::npos);
    EXPECT_NE(text.find("burrow_proxies{type=\"secret\"} 0"), std::string::npos);
    EXPECT_NE(text.find("# TYPE burrow_heap_in_use_bytes gauge\nburrow_heap_in_use_bytes 5242880\n"),
              std::string::npos);
    EXPECT_NE(overview_json(o).find(R"("heap_in_use_bytes":5242880)"), std::string::npos);
}

}  // namespace
}  // namespace burrow::dashboard
