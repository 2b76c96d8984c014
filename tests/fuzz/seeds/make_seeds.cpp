// Writes the binary seeds of tests/fuzz/corpus/ with the product's own
// encoders: real OpenSSL ClientHellos, STUN messages (the RFC 5769 vectors,
// what `burrow-client nat` asks and what the rendezvous answers), punch
// packets, data and head frames, ledger sessions. Run once by hand when a
// format changes; its output is committed (never run at test time):
//
//   cmake --build build-fuzz --target make_seeds
//   build-fuzz/bin/make_seeds tests/fuzz/corpus
//
// The text seeds (TOML, HTTP) are plain files in the corpus, written by hand.
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "burrow.pb.h"
#include "common/p2p/punch_packet.hpp"
#include "common/stream/frame_codec.hpp"
#include "common/stun/codec.hpp"
#include "tests/unit/stun_vectors.hpp"

namespace {

namespace fs = std::filesystem;
using bytes = std::vector<std::uint8_t>;

fs::path root;

void write(const std::string& target, const std::string& name, const bytes& b) {
    fs::create_directories(root / target);
    std::ofstream(root / target / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
void write(const std::string& target, const std::string& name, const std::string& s) {
    write(target, name, bytes(s.begin(), s.end()));
}
bytes of(std::span<const std::uint8_t> s) { return {s.begin(), s.end()}; }
bytes cat(bytes a, const bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// ---- sni: [settings] + what an OpenSSL client sends first ----

std::string client_hello(const char* server_name, int max_version, const char* alpn) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                          SSL_CTX_free);
    if (max_version) SSL_CTX_set_max_proto_version(ctx.get(), max_version);
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl.get(), in, out);
    if (server_name) SSL_set_tlsext_host_name(ssl.get(), server_name);
    if (alpn) {
        const std::string wire = std::string(1, static_cast<char>(std::strlen(alpn))) + alpn;
        SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
    }
    SSL_set_connect_state(ssl.get());
    SSL_do_handshake(ssl.get());
    char* data = nullptr;
    const long n = BIO_get_mem_data(out, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string reframe(const std::string& records, std::size_t fragment) {
    const std::string handshake = records.substr(5);
    std::string out;
    for (std::size_t at = 0; at < handshake.size(); at += fragment) {
        const auto piece = handshake.substr(at, fragment);
        out += records.substr(0, 3);
        out += static_cast<char>(piece.size() >> 8);
        out += static_cast<char>(piece.size() & 0xff);
        out += piece;
    }
    return out;
}

void sni() {
    const std::string settings(1, '\x23');  // cut every 4 bytes; re-frame by 75
    write("sni", "tls13_app_example_com", settings + client_hello("app.example.com", 0, nullptr));
    write("sni", "tls12_nas_example_com_h2",
          settings + client_hello("nas.example.com", TLS1_2_VERSION, "h2"));
    write("sni", "no_server_name", settings + client_hello(nullptr, 0, nullptr));
    write("sni", "three_records", settings + reframe(client_hello("x.example.com", 0, nullptr), 150));
}

// ---- stun: [mode] + datagram, or [2] + builder fields ----

void stun() {
    using namespace burrow::stun;
    const bytes raw{0}, fixed{1};
    write("stun", "rfc5769_request", cat(raw, of(rfc5769::sample_request)));
    write("stun", "rfc5769_ipv4_response", cat(raw, of(rfc5769::sample_ipv4_response)));
    write("stun", "rfc5769_ipv6_response", cat(raw, of(rfc5769::sample_ipv6_response)));
    write("stun", "rfc5769_long_term_request", cat(raw, of(rfc5769::sample_long_term_request)));
    write("stun", "rfc5769_request_fixed", cat(fixed, of(rfc5769::sample_request)));

    const transaction_id txid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    // What burrow-client asks (client/p2p/stun_probe.cpp): a plain request, and one
    // asking for the answer from the other port.
    builder ask(binding, msg_class::request, txid);
    ask.fingerprint();
    write("stun", "nat_request", cat(raw, of(ask.bytes())));
    builder other_port(binding, msg_class::request, txid);
    other_port.change_request(change_port).fingerprint();
    write("stun", "nat_request_change_port", cat(raw, of(other_port.bytes())));
    // What the rendezvous answers (server/rendezvous/rendezvous.cpp).
    builder answer(binding, msg_class::success, txid);
    answer.xor_mapped_address({boost::asio::ip::make_address("203.0.113.9"), 40000}).fingerprint();
    write("stun", "rendezvous_answer_v4", cat(raw, of(answer.bytes())));
    builder answer6(binding, msg_class::success, txid);
    answer6.xor_mapped_address({boost::asio::ip::make_address("2001:db8::9"), 40001});
    write("stun", "rendezvous_answer_v6", cat(raw, of(answer6.bytes())));
    // A signed message, for the fix-up mode.
    const std::string_view password = "fuzz-password";
    builder signed_answer(binding, msg_class::success, txid);
    signed_answer.xor_mapped_address({boost::asio::ip::make_address("198.51.100.1"), 3478})
        .software("burrow")
        .integrity({reinterpret_cast<const std::uint8_t*>(password.data()), password.size()})
        .fingerprint();
    write("stun", "signed_answer_fixed", cat(fixed, of(signed_answer.bytes())));
    // Builder mode: fields as FuzzedDataProvider reads them (all set).
    bytes fields{2};
    for (int i = 0; i < 64; ++i) fields.push_back(static_cast<std::uint8_t>(0x41 + i % 26));
    for (int i = 0; i < 24; ++i) fields.push_back(0xff);
    write("stun", "builder_all_fields", fields);
}

// ---- punch: [settings] + (length, datagram)... ----

void punch() {
    using namespace burrow::punch;
    constexpr std::uint64_t our_punch = 0x0123456789ABCDEFull;
    const auto k = derive_key("fuzz-secret-key", our_punch, "nonce-0123456789");
    auto datagram = [](const packet& p) {
        bytes b{static_cast<std::uint8_t>(p.size())};
        b.insert(b.end(), p.begin(), p.end());
        return b;
    };
    // Our side is home (settings bit 2 clear): the visitor's probes, one
    // again (a replay), an answer, our own probe reflected, another attempt's.
    bytes session{0};
    for (std::uint32_t seq : {1u, 2u, 70u, 2u, 5u, 6u})
        session = cat(session, datagram(encode({type::probe, role::visitor, our_punch, seq, 1000u + seq}, k)));
    session = cat(session, datagram(encode({type::answer, role::visitor, our_punch, 1, 5000}, k)));
    session = cat(session, datagram(encode({type::probe, role::home, our_punch, 9, 9}, k)));
    session = cat(session, datagram(encode({type::probe, role::visitor, our_punch + 1, 3, 3}, k)));
    write("punch", "probes_answers_replays", session);
    // Signed by the harness (settings bit 0): the fields can be mutated freely.
    bytes resign{1};
    resign = cat(resign, datagram(encode({type::probe, role::visitor, our_punch, 7, 7}, k)));
    write("punch", "resigned_probe", resign);
    // Encode round trip (settings bit 2) and a STUN datagram on the same socket.
    bytes round{4};
    for (int i = 0; i < 48; ++i) round.push_back(static_cast<std::uint8_t>(i * 7));
    write("punch", "round_trip", round);
    burrow::stun::builder stun_request(burrow::stun::binding, burrow::stun::msg_class::request, {});
    bytes mixed{0, static_cast<std::uint8_t>(stun_request.bytes().size())};
    mixed = cat(mixed, of(stun_request.bytes()));
    write("punch", "stun_on_the_socket", mixed);
}

// ---- frame_codec: frame + [round trip?][cuts...][number of cuts][limit] ----

bytes frame(const std::string& wire, std::vector<std::uint16_t> cuts = {}) {
    bytes b(wire.begin(), wire.end());
    b.push_back(0);  // no round trip
    for (auto it = cuts.rbegin(); it != cuts.rend(); ++it) {
        b.push_back(static_cast<std::uint8_t>(*it & 0xff));
        b.push_back(static_cast<std::uint8_t>(*it >> 8));
    }
    b.push_back(static_cast<std::uint8_t>(cuts.size()));
    b.push_back(0);  // max_data 1 MiB
    return b;
}

std::string data_frame(std::uint64_t offset, std::uint64_t ack, bool fin, const std::string& payload) {
    const auto h = burrow::frame_codec::encode_data_header(offset, ack, fin, payload.size());
    return std::string(reinterpret_cast<const char*>(h.buf.data()), h.size) + payload;
}

void frame_codec() {
    using namespace burrow::frame_codec;
    write("frame_codec", "data", frame(data_frame(0, 0, false, "hello, tunnel")));
    write("frame_codec", "data_ack_fin_split",
          frame(data_frame(1ull << 40, 12345, true, std::string(300, 'z')), {3, 9, 200}));
    write("frame_codec", "ack_only", frame(data_frame(4096, 1u << 20, false, "")));
    write("frame_codec", "fin_only", frame(data_frame(77, 0, true, "")));
    write("frame_codec", "resume_head", frame(encode_resume_head(f_resume, {123456789, true})));
    write("frame_codec", "resumed_head", frame(encode_resume_head(f_resumed, {42, false})));
    burrow::v1::Frame f;
    f.mutable_hello()->set_run_id("run-1");
    write("frame_codec", "work_hello", frame(f.SerializeAsString()));
    f.Clear();
    f.mutable_start()->set_proxy("ssh");
    f.mutable_start()->set_conn_id(7);
    f.mutable_start()->set_session_secret(std::string(16, '\x5a'));
    write("frame_codec", "work_start", frame(f.SerializeAsString()));
    f.Clear();
    f.set_error("local service refused the connection");
    write("frame_codec", "error", frame(f.SerializeAsString()));
    f.Clear();
    auto* r = f.mutable_resume();
    r->set_run_id("run-2");
    r->set_session_id(99);
    r->set_session_secret(std::string(16, '\x11'));
    r->set_received(65536);
    r->set_received_fin(true);
    write("frame_codec", "resume_full", frame(f.SerializeAsString()));
    // Data with an unknown field (fixed32 #20) the codec skips.
    write("frame_codec", "unknown_field",
          frame(std::string("\xa5\x01\x01\x02\x03\x04", 6) + data_frame(5, 6, false, "abc")));
    // With the round-trip part: frame bytes after a 32-byte block of fields.
    bytes round(32, 0x17);
    round = cat(round, frame(data_frame(1, 2, false, "x")));
    round[round.size() - 3] = 1;  // round trip on (the flag before "no cuts" and the limit)
    write("frame_codec", "with_round_trip", round);
}

// ---- ledger: [limits][side A limit, salt][side B limit, salt] then (side, op, args)... ----

void ledger() {
    // ops: 0 read(k) 1 fin 2 ack-within(4) 3 ack-fin 4 hostile(how, ..) 5 resume(how, 4)
    //      6 frame(k, fin) 7 hostile frame 8 deliver(3, fin?) 9 take_ack 10 drop 11 renew(salt)
    const bytes a_session{
        0x01, 3, 0x10, 4, 0x20,         // limits; A: 4096 own, B: 64 KiB own
        0, 0, 50, 0, 0, 200,            // A reads 51 B, then 4 KiB
        0, 6, 100, 0, 0, 8, 0, 0, 100, 1, 0, 9,  // A gets 100 B, delivers them (fin no), acks
        0, 2, 0, 0, 0, 30,              // A's peer acknowledges 30 B
        0, 5, 0, 0, 0, 0, 40,           // re-attach: the peer holds 70 B
        0, 1, 0, 3,                     // our fin; its acknowledgement
        0, 6, 10, 1, 0, 8, 0, 0, 10, 1, 0, 9,  // the peer's last 10 B and fin, delivered, acked
        0, 7, 0x10, 0, 0,               // a frame with fin again
        1, 0, 255, 1, 0, 255, 1, 2, 0, 0, 0, 0, 1, 10, 1, 11, 7};
    write("ledger", "a_whole_session", a_session);
    const bytes process_bound{
        0x00, 7, 1, 7, 2,               // 1 MiB per process; both sides 64 MiB
        0, 0, 255, 0, 0, 255, 0, 0, 255, 1, 0, 255, 1, 0, 255, 1, 0, 255,
        0, 2, 0, 0x03, 0, 0, 1, 0, 255, 0, 4, 0, 0, 5, 0, 10, 0, 11, 3};
    write("ledger", "the_process_bound", process_bound);
    const bytes hostile{
        0x02, 1, 0, 1, 0,
        0, 0, 10, 0, 4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 4, 1, 0, 200, 0, 4, 2, 0, 1,
        0, 7, 3, 0xff, 0, 10, 0, 7, 4, 0, 0, 0, 7, 8, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0,
        0, 5, 0x17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    write("ledger", "hostile_frames_and_acks", hostile);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_seeds tests/fuzz/corpus\n");
        return 2;
    }
    root = argv[1];
    sni();
    stun();
    punch();
    frame_codec();
    ledger();
    return 0;
}
