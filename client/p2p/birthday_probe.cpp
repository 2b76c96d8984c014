#include "client/p2p/birthday_probe.hpp"

#include <algorithm>

#include "client/p2p/host_resources.hpp"
#include "common/log.hpp"
#include "common/p2p/birthday.hpp"

#include <openssl/rand.h>

namespace burrow::p2p {

namespace asio = boost::asio;
using udp = asio::ip::udp;

void birthday_probe::open_sockets(const asio::any_io_executor& ex, udp protocol, int want,
                                  const std::string& tag,
                                  const std::function<void(const socket_ptr&)>& listen) {
    auto& log = log::get("p2p");
    reserved_ = reserve_extra_sockets(want);
    if (reserved_ < want)
        log.info("{} birthday probing with {} extra sockets, not {}: other paths use the rest", tag,
                 reserved_, want);
    for (int i = 0; i < reserved_; ++i) {
        auto s = std::make_shared<udp::socket>(ex);
        boost::system::error_code ec;
        s->open(protocol, ec);
        if (!ec) s->bind(endpoint(protocol, 0), ec);
        if (!ec) s->non_blocking(true, ec);
        if (ec) {
            log.info("{} birthday probing with {} extra sockets, not {}: {}", tag, i, reserved_,
                     ec.message());
            break;
        }
        extra_.push_back(s);
        listen(s);
    }
}

void birthday_probe::plan_spray(const asio::ip::address& to, int count, std::int64_t rounds) {
    std::uint64_t seed = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed);
    spray_ = birthday::ports_to_try(static_cast<std::size_t>(std::max(count, 0)), seed);
    spray_to_ = to;
    const auto r = static_cast<std::size_t>(std::max<std::int64_t>(1, rounds));
    per_round_ = (spray_.size() + r - 1) / r;
}

void birthday_probe::spray_round(const std::function<void(const endpoint&)>& probe) {
    for (std::size_t n = 0; n < per_round_ && !spray_.empty(); ++n) {
        probe(endpoint(spray_to_, spray_.back()));
        spray_.pop_back();
    }
}

birthday_probe::socket_ptr birthday_probe::take(const udp::socket* chosen, std::size_t& number) {
    auto it = std::find_if(extra_.begin(), extra_.end(), [&](const auto& s) { return s.get() == chosen; });
    if (it == extra_.end()) return nullptr;
    number = static_cast<std::size_t>(it - extra_.begin()) + 1;
    auto taken = std::move(*it);
    extra_.erase(it);
    close();
    return taken;
}

void birthday_probe::close() {
    boost::system::error_code ignored;
    for (auto& s : extra_) s->close(ignored);
    extra_.clear();
    release_extra_sockets(std::exchange(reserved_, 0));
    spray_.clear();
}

}  // namespace burrow::p2p
