// What the config tests share: parsing a text into its problems, a valid
// client to add lines to, and an environment variable set for one test.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/config/client.hpp"
#include "common/config/problem.hpp"
#include "common/config/server.hpp"

namespace burrow::config_testing {

// Parses `text` and returns the problems it was rejected with (none if it loaded).
template <typename Parse>
inline std::vector<config_problem> problems_of(Parse parse, const std::string& text) {
    try {
        parse(text, "test.toml");
    } catch (const config_error& e) {
        return e.problems();
    }
    return {};
}

inline std::vector<config_problem> server_problems(const std::string& text) {
    return problems_of(parse_server_config, text);
}

inline std::vector<config_problem> client_problems(const std::string& text) {
    return problems_of(parse_client_config, text);
}

// Asserts that `problems` holds exactly one problem, and that it is this one.
inline void expect_one(const std::vector<config_problem>& problems, std::uint32_t line, std::uint32_t column,
                const std::string& key, const std::string& message_part) {
    ASSERT_EQ(problems.size(), 1u) << (problems.empty() ? "no problems" : config_error(problems).what());
    const auto& p = problems[0];
    EXPECT_EQ(p.file, "test.toml");
    EXPECT_EQ(p.line, line) << p.to_string();
    EXPECT_EQ(p.column, column) << p.to_string();
    EXPECT_EQ(p.key, key) << p.to_string();
    EXPECT_NE(p.message.find(message_part), std::string::npos) << p.to_string();
}

// A valid client, so a test only adds the line it is about. TLS is off here so
// the fingerprint rules are tested on their own.
inline const std::string client_base =
    "server_addr = \"tunnel.example.com\"\n"  // line 1
    "[auth]\n"                                 // line 2
    "token = \"t\"\n"                          // line 3
    "[tls]\n"                                  // line 4
    "enable = false\n";                        // line 5

inline const std::string fingerprint_hex =
    "3fa29c410bd76e58c1942a7fe013b8654d9e07c25af1863bd4702e9f1ca85be6";

// Sets an environment variable for one test and restores the old state after.
class scoped_env {
public:
    scoped_env(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value != nullptr) {
            ::setenv(name, value, 1);
        } else {
            ::unsetenv(name);
        }
    }
    ~scoped_env() {
        if (old_) {
            ::setenv(name_.c_str(), old_->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;

private:
    std::string name_;
    std::optional<std::string> old_;
};

}  // namespace burrow::config_testing
