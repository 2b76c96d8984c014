#include "common/auth.hpp"

#include <gtest/gtest.h>

namespace burrow::auth {
namespace {

constexpr std::int64_t now = 1'800'000'000;

struct login {
    std::string id = "home";
    std::int64_t ts = now;
    std::string nonce = random_bytes(nonce_size);
    std::string proof;
};

login make(const std::string& token, std::int64_t ts = now) {
    login l;
    l.ts = ts;
    l.proof = make_proof(token, l.id, l.ts, l.nonce);
    return l;
}

TEST(auth, accepts_a_fresh_proof_of_the_right_token) {
    verifier v({"s3cret", {}});
    auto l = make("s3cret");
    EXPECT_EQ(v.check(l.id, l.ts, l.nonce, l.proof, now), verdict::ok);
}

login make_as(const std::string& id, const std::string& token) {
    login l;
    l.id = id;
    l.proof = make_proof(token, l.id, l.ts, l.nonce);
    return l;
}

// [[auth.clients]]: a listed client logs in with its own token only; the
// others with the shared one.
TEST(auth, a_listed_client_needs_its_own_token_and_the_others_the_shared_one) {
    verifier v({"shared-token", {{"home", "home-token"}, {"nas", "nas-token"}}});
    auto check = [&](const login& l) { return v.check(l.id, l.ts, l.nonce, l.proof, now); };
    EXPECT_EQ(check(make_as("home", "home-token")), verdict::ok);
    EXPECT_EQ(check(make_as("home", "shared-token")), verdict::bad_proof);
    EXPECT_EQ(check(make_as("home", "nas-token")), verdict::bad_proof);  // another's
    EXPECT_EQ(check(make_as("laptop", "shared-token")), verdict::ok);
    EXPECT_EQ(check(make_as("laptop", "home-token")), verdict::bad_proof);
}

TEST(auth, with_no_shared_token_only_listed_clients_log_in) {
    verifier v({"", {{"home", "home-token"}}});
    auto check = [&](const login& l) { return v.check(l.id, l.ts, l.nonce, l.proof, now); };
    EXPECT_EQ(check(make_as("home", "home-token")), verdict::ok);
    EXPECT_EQ(check(make_as("laptop", "")), verdict::bad_proof);  // the empty token is no token
    EXPECT_TRUE(v.credential("laptop").empty());
}

// A reload replaces the tokens: a revoked token stops working, and the
// credential a run logged in with no longer matches (the run ends).
TEST(auth, new_tokens_take_effect_and_change_the_credential_of_those_they_touch) {
    verifier v({"shared-token", {{"home", "home-token"}, {"nas", "nas-token"}}});
    const auto home = v.credential("home"), nas = v.credential("nas");
    EXPECT_FALSE(home.empty());
    EXPECT_NE(home, nas);
    EXPECT_EQ(home.find("home-token"), std::string::npos);  // it does not carry the token
    v.set_tokens({"shared-token", {{"nas", "nas-token"}}});  // home revoked
    EXPECT_NE(v.credential("home"), home);
    EXPECT_EQ(v.credential("nas"), nas);
    auto l = make_as("home", "home-token");
    EXPECT_EQ(v.check(l.id, l.ts, l.nonce, l.proof, now), verdict::bad_proof);
}

TEST(auth, rejects_a_wrong_token) {
    verifier v({"s3cret", {}});
    auto l = make("guess");
    EXPECT_EQ(v.check(l.id, l.ts, l.nonce, l.proof, now), verdict::bad_proof);
}

TEST(auth, rejects_a_replayed_login) {
    verifier v({"s3cret", {}});
    auto l = make("s3cret");
    ASSERT_EQ(v.check(l.id, l.ts, l.nonce, l.proof, now), verdict::ok);
    EXPECT_EQ(v.check(l.id, l.ts, l.nonce, l.proof, now + 1), verdict::replayed);
}

TEST(auth, rejects_clock_skew_beyond_five_minutes_both_ways) {
    verifier v({"s3cret", {}});
    auto old = make("s3cret", now - 301);
    auto future = make("s3cret", now + 301);
    auto edge = make("s3cret", now - 300);
    EXPECT_EQ(v.check(old.id, old.ts, old.nonce, old.proof, now), verdict::clock_skew);
    EXPECT_EQ(v.check(future.id, future.ts, future.nonce, future.proof, now), verdict::clock_skew);
    EXPECT_EQ(v.check(edge.id, edge.ts, edge.nonce, edge.proof, now), verdict::ok);
}

TEST(auth, proof_binds_client_id_timestamp_and_nonce) {
    verifier v({"s3cret", {}});
    auto l = make("s3cret");
    EXPECT_EQ(v.check("other", l.ts, l.nonce, l.proof, now), verdict::bad_proof);
    EXPECT_EQ(v.check(l.id, l.ts + 1, l.nonce, l.proof, now), verdict::bad_proof);
    auto nonce = l.nonce;
    nonce[0] = static_cast<char>(nonce[0] ^ 1);
    EXPECT_EQ(v.check(l.id, l.ts, nonce, l.proof, now), verdict::bad_proof);
}

TEST(auth, rejects_malformed_fields) {
    verifier v({"s3cret", {}});
    auto l = make("s3cret");
    EXPECT_EQ(v.check(l.id, l.ts, "short", l.proof, now), verdict::malformed);
    EXPECT_EQ(v.check(l.id, l.ts, l.nonce, "short", now), verdict::malformed);
    EXPECT_EQ(v.check("", l.ts, l.nonce, l.proof, now), verdict::malformed);
}

TEST(auth, a_rejected_proof_does_not_burn_its_nonce) {
    // Otherwise an attacker could pre-empt a real login by sending its nonce first.
    verifier v({"s3cret", {}});
    auto good = make("s3cret");
    EXPECT_EQ(v.check(good.id, good.ts, good.nonce, std::string(32, 'x'), now),
              verdict::bad_proof);
    EXPECT_EQ(v.check(good.id, good.ts, good.nonce, good.proof, now), verdict::ok);
}

TEST(auth, forgets_nonces_only_once_they_are_too_old_to_pass) {
    verifier v({"s3cret", {}});
    auto l = make("s3cret");
    ASSERT_EQ(v.check(l.id, l.ts, l.nonce, l.proof, now), verdict::ok);
    // Five minutes later the same login still fails as a replay...
    EXPECT_EQ(v.check(l.id, l.ts, l.nonce, l.proof, now + 300), verdict::replayed);
    // ...and afterwards it fails on its timestamp.
    EXPECT_EQ(v.check(l.id, l.ts, l.nonce, l.proof, now + 900), verdict::clock_skew);
}

TEST(auth, a_login_proof_has_a_fixed_known_form) {
    // HMAC-SHA256("k", "id" 0 "1800000000" 0 "n"), as any implementation must compute it.
    EXPECT_EQ(make_proof("k", "id", now, "n"),
              make_proof("k", std::string("id"), now, std::string("n")));
    EXPECT_NE(make_proof("k", "id", now, "n"), make_proof("k", "i", now, "dn"));
}

TEST(auth, a_visit_proof_binds_key_visitor_proxy_time_and_nonce) {
    const auto key = visit_key("another-secret");
    EXPECT_EQ(key.size(), 32u);
    EXPECT_NE(key, visit_key("another-secreT"));
    const auto nonce = random_bytes(nonce_size);
    const auto proof = make_visit_proof(key, "laptop", "ssh-secret", now, nonce);
    EXPECT_TRUE(same_proof(proof, make_visit_proof(key, "laptop", "ssh-secret", now, nonce)));
    EXPECT_FALSE(same_proof(proof, make_visit_proof(key, "laptop2", "ssh-secret", now, nonce)));
    EXPECT_FALSE(same_proof(proof, make_visit_proof(key, "laptop", "ssh-secreT", now, nonce)));
    EXPECT_FALSE(same_proof(proof, make_visit_proof(key, "laptop", "ssh-secret", now + 1, nonce)));
    EXPECT_FALSE(same_proof(proof, make_visit_proof(key, "laptop", "ssh-secret", now,
                                                    random_bytes(nonce_size))));
    // Never the same as a login proof of the same fields.
    EXPECT_FALSE(same_proof(proof, make_proof(key, "laptop", now, nonce)));
    EXPECT_FALSE(same_proof(proof, proof.substr(0, 31)));
}

TEST(auth, a_nonce_window_admits_each_nonce_once_inside_the_skew) {
    nonce_window w;
    const auto n1 = random_bytes(nonce_size), n2 = random_bytes(nonce_size);
    EXPECT_EQ(w.admit(now, n1, now), verdict::ok);
    EXPECT_EQ(w.admit(now, n1, now), verdict::replayed);
    EXPECT_EQ(w.admit(now - 301, n2, now), verdict::clock_skew);
    EXPECT_EQ(w.admit(now + 300, n2, now), verdict::ok);
    EXPECT_EQ(w.admit(now, "short", now), verdict::malformed);
    EXPECT_EQ(w.admit(now, n1 + "x", now), verdict::malformed);
}

// A soak of 845 000 transfers (a third of them visits) held 17.6 MiB more
// heap at its end, mostly nonces kept for twice the window: one is kept only
// while a replay of it could still pass the timestamp check, and a minute
// more (the wall clock may step back).
TEST(auth, a_nonce_window_forgets_a_nonce_a_minute_after_its_timestamp_left_the_window) {
    nonce_window w;
    const auto early = random_bytes(nonce_size), late = random_bytes(nonce_size);
    ASSERT_EQ(w.admit(now, early, now), verdict::ok);
    ASSERT_EQ(w.admit(now + 300, late, now + 300), verdict::ok);
    // At now + 300 the first still passes the timestamp check: still remembered.
    EXPECT_EQ(w.admit(now, early, now + 300), verdict::replayed);
    // Past the window, the clock steps back by a minute: still a replay.
    EXPECT_EQ(w.admit(now + 360, random_bytes(nonce_size), now + 360), verdict::ok);
    EXPECT_EQ(w.admit(now, early, now + 300), verdict::replayed);
    EXPECT_EQ(w.remembered(), 3u);
    // At now + 361 the next admission forgets it.
    EXPECT_EQ(w.admit(now + 361, random_bytes(nonce_size), now + 361), verdict::ok);
    EXPECT_EQ(w.remembered(), 3u) << "the first forgotten, the others kept";
    EXPECT_EQ(w.admit(now + 300, late, now + 361), verdict::replayed);
}

TEST(auth, a_nonce_window_holds_at_most_its_bound) {
    nonce_window w(3);
    for (int i = 0; i < 10; ++i) ASSERT_EQ(w.admit(now, random_bytes(nonce_size), now), verdict::ok);
    EXPECT_LE(w.remembered(), 3u);
}

}  // namespace
}  // namespace burrow::auth
