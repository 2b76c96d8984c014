#include "server/visit/secret_table.hpp"

#include <algorithm>

namespace burrow {

using namespace std::chrono_literals;

void secret_table::add(const std::string& name, proxy p) {
    absl::MutexLock lock(&mutex_);
    proxies_[name] = std::move(p);
}

void secret_table::remove(const std::string& name, const client_session* owner) {
    absl::MutexLock lock(&mutex_);
    auto it = proxies_.find(name);
    if (it == proxies_.end()) return;
    const auto current = it->second.owner.lock();
    if (!current || current.get() == owner) proxies_.erase(it);
}

secret_table::verdict secret_table::check(const visit& v, const boost::asio::ip::address& source,
                                          clock::time_point now, std::int64_t unix_now) {
    verdict out;
    absl::MutexLock lock(&mutex_);
    if (failures_.blocked_for(source, now).count() > 0) {
        out.refusal = "too many failed visits from this address; try again in a minute";
        return out;
    }
    const auto refuse = [&](std::string why) {
        failures_.failed(source, now);
        out.refusal = std::move(why);
        return out;
    };
    if (v.nonce.size() != auth::nonce_size || v.proof.size() != 32)
        return refuse("malformed visit");
    auto it = proxies_.find(v.server_name);
    auto owner = it == proxies_.end() ? nullptr : it->second.owner.lock();
    if (!owner) return refuse("no secret proxy of that name is online");
    const auto& p = it->second;
    if (!v.server_client.empty() && v.server_client != p.client_id)
        return refuse("the proxy of that name is served by another client");
    if (!auth::nonce_window::in_window(v.timestamp, unix_now))
        return refuse("timestamp outside the allowed clock skew");
    if (!auth::same_proof(auth::make_visit_proof(p.visit_key, v.visitor_id, v.server_name,
                                                 v.timestamp, v.nonce),
                          v.proof))
        return refuse("wrong secret key");
    if (!p.allow_clients.empty() &&
        std::find(p.allow_clients.begin(), p.allow_clients.end(), v.visitor_id) ==
            p.allow_clients.end())
        return refuse("this client is not in allow_clients");
    if (nonces_.admit(v.timestamp, v.nonce, unix_now) != auth::verdict::ok)
        return refuse("replayed visit (nonce seen before)");
    out.owner = std::move(owner);
    out.client_id = p.client_id;
    return out;
}

}  // namespace burrow
