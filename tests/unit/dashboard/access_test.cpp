#include "server/dashboard/access.hpp"

#include <gtest/gtest.h>

namespace burrow::dashboard {
namespace {

using namespace std::chrono_literals;
const auto here = boost::asio::ip::make_address("192.0.2.1");
const auto there = boost::asio::ip::make_address("198.51.100.7");

// "Basic " + base64("admin:s3cret")
constexpr std::string_view good_basic = "Basic YWRtaW46czNjcmV0";
constexpr std::string_view bad_basic = "Basic YWRtaW46d3Jvbmc=";  // admin:wrong

TEST(dashboard_access, without_a_password_everyone_passes) {
    access a("admin", "");
    EXPECT_TRUE(a.open());
    EXPECT_TRUE(a.check("", "", here, access::clock::now()));
}

TEST(dashboard_access, basic_auth_passes_with_the_right_password_only) {
    access a("admin", "s3cret");
    const auto now = access::clock::now();
    EXPECT_FALSE(a.check("", "", here, now));
    auto p = a.check(good_basic, "", here, now);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->by, access::how::basic);
    EXPECT_FALSE(a.check(bad_basic, "", here, now));
    EXPECT_FALSE(a.check("Basic !!!!", "", here, now));
    EXPECT_FALSE(a.check("Bearer abc", "", here, now));
    EXPECT_FALSE(a.check("Basic YWRtaW4=", "", here, now)) << "no colon";
}

TEST(dashboard_access, a_login_gives_a_cookie_that_passes_until_logout) {
    access a("admin", "s3cret");
    const auto now = access::clock::now();
    auto r = a.login("admin", "s3cret", here, now);
    ASSERT_EQ(r.outcome, access::login_result::ok);
    EXPECT_EQ(r.cookie_value.size(), 64u);
    const auto cookie = "theme=dark; " + std::string(access::cookie_name) + "=" + r.cookie_value;
    auto p = a.check("", cookie, there, now);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->by, access::how::cookie);
    EXPECT_EQ(p->csrf, r.csrf);
    EXPECT_FALSE(a.check("", std::string(access::cookie_name) + "=forged", here, now));
    EXPECT_FALSE(a.check("", cookie, here, now + 25h)) << "expired";
    a.logout(cookie);
    EXPECT_FALSE(a.check("", cookie, here, now));
}

TEST(dashboard_access, failed_logins_are_limited_per_address) {
    access a("admin", "s3cret", {.failures = 3, .window = 60s});
    const auto now = access::clock::now();
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(a.login("admin", "nope", here, now).outcome, access::login_result::wrong);
    auto r = a.login("admin", "s3cret", here, now + 1s);
    EXPECT_EQ(r.outcome, access::login_result::limited) << "even the right password waits";
    EXPECT_GT(r.retry_after.count(), 0);
    EXPECT_FALSE(a.check(good_basic, "", here, now + 1s)) << "basic auth waits too";
    EXPECT_EQ(a.login("admin", "s3cret", there, now).outcome, access::login_result::ok)
        << "another address is not held up";
    EXPECT_EQ(a.login("admin", "s3cret", here, now + 61s).outcome, access::login_result::ok);
}

TEST(dashboard_access, wrong_basic_auth_counts_as_a_failed_login) {
    access a("admin", "s3cret", {.failures = 2, .window = 60s});
    const auto now = access::clock::now();
    EXPECT_FALSE(a.check(bad_basic, "", here, now));
    EXPECT_FALSE(a.check(bad_basic, "", here, now));
    EXPECT_GT(a.blocked_for(here, now).count(), 0);
}

TEST(dashboard_access, the_failure_table_is_bounded) {
    access a("admin", "s3cret", {.failures = 1, .window = 60s, .addresses = 16});
    const auto now = access::clock::now();
    for (unsigned i = 0; i < 100; ++i)
        a.login("admin", "x", boost::asio::ip::make_address_v4(0xC6336400u + i), now);
    // The newest are remembered, the oldest had to go.
    EXPECT_GT(a.blocked_for(boost::asio::ip::make_address_v4(0xC6336400u + 99), now).count(), 0);
}

TEST(dashboard_access, logins_kept_are_bounded_and_the_oldest_goes) {
    access a("admin", "s3cret", {.sessions = 2});
    const auto now = access::clock::now();
    auto first = a.login("admin", "s3cret", here, now);
    a.login("admin", "s3cret", here, now);
    auto third = a.login("admin", "s3cret", here, now);
    const auto c = [](const access::login_result& r) {
        return std::string(access::cookie_name) + "=" + r.cookie_value;
    };
    EXPECT_FALSE(a.check("", c(first), here, now));
    EXPECT_TRUE(a.check("", c(third), here, now));
}

TEST(dashboard_access, csrf_needs_the_logins_token_or_the_header_for_basic_auth) {
    access::pass cookie{access::how::cookie, "tok"};
    EXPECT_TRUE(access::check_csrf(cookie, "tok", true));
    EXPECT_FALSE(access::check_csrf(cookie, "other", true));
    EXPECT_FALSE(access::check_csrf(cookie, "", false));
    access::pass basic{access::how::basic, ""};
    EXPECT_TRUE(access::check_csrf(basic, "1", true));
    EXPECT_FALSE(access::check_csrf(basic, "", false));
}

TEST(dashboard_access, cookie_value_finds_one_cookie_among_many) {
    EXPECT_EQ(cookie_value("a=1; b=2;c=3", "b"), "2");
    EXPECT_EQ(cookie_value("a=1; b=2;c=3", "c"), "3");
    EXPECT_EQ(cookie_value("ab=1", "b"), "");
    EXPECT_EQ(cookie_value("", "b"), "");
}

}  // namespace
}  // namespace burrow::dashboard
