#include "common/config/sections.hpp"

#include "common/config/checks.hpp"
#include "common/config/reader.hpp"

namespace burrow::config_reader {

void read_auth(table_reader& root, std::string& token) {
    auto auth = root.table("auth");
    read_required(auth, "token", token);
    auth.finish();
}

void read_log(table_reader& root, log_config& log) {
    auto r = root.table("log");
    if (r.read("level", log.level) == field::ok) {
        if (auto problem = log_level_problem(log.level); !problem.empty())
            r.problem(*r.get("level"), "level", std::move(problem));
    }
    r.finish();
}

}  // namespace burrow::config_reader
