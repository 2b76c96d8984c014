// live: what the server runs right now, for the dashboard and /metrics
// (DESIGN.md §7): clients, proxies and the sessions of user connections, with
// byte counts that move while bytes flow, and a traffic series per proxy.
//
// The data path touches only a session's meter (stream::meter: relaxed
// atomics, filled by its pump or splice). The book's lock is taken when a
// client, proxy or session comes or goes, and by readers: never per frame.
//
// A session's listing is a `live::session` held by what owns the user
// connection (its pump's end handler, a splice's, a waiting request); it
// leaves the book, adding its bytes to its proxy's totals, when the last
// holder lets go. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/stream/meter.hpp"

namespace burrow::live {

// Seconds since the Unix epoch, as listings show times.
double unix_now();

struct client_info {
    std::uint64_t run = 0;  // the server's number for the run: keys the row
    std::string id, addr, version;
    double since = 0;
};

struct proxy_info {
    std::string name, type, client;
    std::uint64_t run = 0;
    std::uint16_t port = 0;  // tcp: the public port
    std::vector<std::string> urls;  // http/https
};

// ---- what readers get ----
struct session_view {
    std::uint64_t id = 0;
    std::string proxy, client, user_addr, path;
    double opened_at = 0;
    std::uint64_t bytes_in = 0, bytes_out = 0;
};
struct client_view {
    client_info info;
    bool away = false;
    std::vector<std::string> proxies;
    std::size_t sessions = 0;
};
struct proxy_view {
    proxy_info info;
    bool away = false;
    std::size_t connections = 0;
    std::uint64_t bytes_in = 0, bytes_out = 0, connections_total = 0;
    std::string last_error;
};
struct traffic_view {
    int bucket_seconds = 0;
    std::vector<double> t;  // each bucket's start; the last one is in progress
    std::vector<std::uint64_t> in, out;
};
struct totals_view {
    std::size_t clients = 0, proxies = 0, sessions = 0;
    std::uint64_t bytes_in = 0, bytes_out = 0;
    std::uint64_t connections_total = 0, login_failures = 0, resumptions = 0;
};

// A session a home client reported running on a direct path (DirectReport).
struct direct_info {
    std::uint64_t id = 0;  // the client's
    std::string proxy, peer;
    double age_seconds = 0;
    std::uint64_t bytes_in = 0, bytes_out = 0;
    bool moved = false;    // it began as relayed visit `id` (moved_to_direct)
    bool ended = false;    // its final counts: it leaves the listing
};

struct core;
struct counters;

// What the book lists of one session. Its proxy's counters hold the names
// (proxy, client, run), so that a listed connection's only string is its
// user's address.
struct listing {
    std::shared_ptr<counters> c;
    std::string user_addr;
    double opened_at = 0;
    std::shared_ptr<stream::meter> meter = std::make_shared<stream::meter>();
    std::function<void(const std::string&)> closer;
    bool direct = false;  // a session on a direct path (direct_report): the book owns it
};

// One user connection's listing: one allocation with the listing inside.
class session {
    struct token {};  // only the book makes them

public:
    session(token, std::shared_ptr<core> c, std::uint64_t id, std::shared_ptr<counters> counts,
            std::string user_addr);
    ~session();
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    // The counts its pump or splice adds to.
    const std::shared_ptr<stream::meter>& meter() const;
    // How the dashboard ends it (gets the reason); set once it runs.
    void set_closer(std::function<void(const std::string&)> close);
    // Something went wrong for it (no work stream...): its proxy's last error.
    void failed(std::string why);

private:
    friend class book;
    std::shared_ptr<core> core_;
    const std::uint64_t id_;
    listing listing_;
};

class book {
public:
    static constexpr int bucket_seconds = 10;
    static constexpr std::size_t max_buckets = 360;  // an hour

    book();
    ~book();
    book(const book&) = delete;
    book& operator=(const book&) = delete;

    // A user connection of `proxy`, served by the client of `run`.
    std::shared_ptr<session> open(std::uint64_t id, const std::string& proxy,
                                  const std::string& client, std::uint64_t run,
                                  std::string user_addr);
    // Ends session `id` with `why` (false: no such session, or it cannot be
    // ended from here yet).
    bool close(std::uint64_t id, const std::string& why);

    void client_up(client_info c);
    void client_away(std::uint64_t run);
    // Back from away, maybe from a new address.
    void client_back(std::uint64_t run, std::string addr);
    void client_down(std::uint64_t run);
    void proxy_up(proxy_info p);
    void proxy_down(const std::string& name);
    // The sessions of client `run` (`client`) on direct paths, as it
    // reported them now: listed with path "p2p" and their bytes in their
    // proxy's totals; one reported `ended`, or before and not now, has ended.
    // `close(id, why)` asks the client to end one. At most 256 are kept.
    void direct_report(std::uint64_t run, const std::string& client, std::vector<direct_info> rows,
                       std::function<void(std::uint64_t id, const std::string& why)> close);
    // Relayed visit `id` moved onto a direct path after `in`/`out` bytes:
    // its report counts from there (bounded memory).
    void moved_to_direct(std::uint64_t id, std::uint64_t in, std::uint64_t out);
    void login_failed();
    void resumed();

    std::vector<session_view> sessions() const;
    std::vector<client_view> clients() const;
    std::vector<proxy_view> proxies() const;
    std::optional<traffic_view> traffic(const std::string& proxy) const;
    totals_view totals() const;

    // Ends the bucket in progress of every proxy's series (called every
    // bucket_seconds; `now` in Unix seconds).
    void sample(double now);

private:
    std::shared_ptr<core> core_;
};

}  // namespace burrow::live
