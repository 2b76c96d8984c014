#include "client/reload.hpp"

#include <gtest/gtest.h>

namespace burrow {
namespace {

proxy_config proxy(const std::string& name, std::uint16_t local) {
    proxy_config p;
    p.name = name;
    p.local_port = local;
    return p;
}

visitor_config visitor(const std::string& name, std::uint16_t port) {
    visitor_config v;
    v.name = name;
    v.server_name = "secret";
    v.secret_key = "key-12345";
    v.bind_port = port;
    return v;
}

TEST(client_reload, proxies_and_visitors_are_added_removed_and_changed_by_name) {
    client_config now;
    now.proxies = {proxy("keep", 1), proxy("gone", 2), proxy("moved", 3)};
    now.visitors = {visitor("v", 6000), visitor("old", 6001)};
    client_config next = now;
    next.proxies = {proxy("keep", 1), proxy("moved", 4), proxy("fresh", 5)};
    next.proxies[0].bandwidth_limit = 0;  // the same value: unchanged
    next.visitors = {visitor("v", 6002), visitor("new", 6003)};
    const auto plan = plan_reload(now, next);
    EXPECT_EQ(plan.added, std::vector<std::string>{"fresh"});
    EXPECT_EQ(plan.removed, std::vector<std::string>{"gone"});
    EXPECT_EQ(plan.changed, std::vector<std::string>{"moved"});
    EXPECT_EQ(plan.visitors_removed, std::vector<std::string>{"old"});
    EXPECT_EQ(plan.visitors_changed, std::vector<std::string>{"v"});
    ASSERT_EQ(plan.visitors_added.size(), 2u);  // the changed one's new definition too
    EXPECT_EQ(plan.visitors_added[0].bind_port, 6002);
    EXPECT_EQ(plan.visitors_added[1].name, "new");
    EXPECT_TRUE(plan.restart_only.empty());
    EXPECT_EQ(plan.applied->proxies.size(), 3u);
    EXPECT_EQ(plan.summary("c.toml"),
              "reloaded c.toml: proxies +fresh -gone ~moved; visitors +new -old ~v");
}

TEST(client_reload, keys_that_need_a_restart_keep_their_running_value) {
    client_config now;
    now.server_addr = "a.example";
    now.auth.token = "one";
    now.log.level = "info";
    client_config next = now;
    next.server_addr = "b.example";
    next.auth.token = "two";
    next.transport.pool_count = 9;
    next.log.level = "debug";
    next.shutdown_timeout = 3;
    const auto plan = plan_reload(now, next);
    EXPECT_EQ(plan.restart_only, (std::vector<std::string>{"server_addr", "auth", "transport"}));
    EXPECT_EQ(plan.applied->server_addr, "a.example");
    EXPECT_EQ(plan.applied->auth.token, "one");
    EXPECT_EQ(plan.applied->transport.pool_count, now.transport.pool_count);
    EXPECT_TRUE(plan.level_changed);
    EXPECT_EQ(plan.applied->log.level, "debug");
    EXPECT_EQ(plan.applied->shutdown_timeout, 3u);
    EXPECT_EQ(plan.summary("c.toml"),
              "reloaded c.toml: proxies unchanged; visitors unchanged; log level debug");
}

}  // namespace
}  // namespace burrow
