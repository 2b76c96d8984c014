#include "common/stream/frame_codec.hpp"

#include <random>

#include <gtest/gtest.h>

#include "burrow.pb.h"

namespace burrow::frame_codec {
namespace {

using u8 = std::uint8_t;

std::vector<u8> to_vec(const std::string& s) { return {s.begin(), s.end()}; }

// Splits `data` into pieces at random points, like gRPC slices would.
std::vector<bytes> split(const std::vector<u8>& data, std::uint32_t seed, int max_parts = 7) {
    std::mt19937 rng(seed);
    std::vector<bytes> parts;
    std::size_t pos = 0;
    for (int i = 0; i < max_parts - 1 && pos < data.size(); ++i) {
        std::size_t n = rng() % (data.size() - pos + 1);
        parts.emplace_back(data.data() + pos, n);  // empty pieces included
        pos += n;
    }
    parts.emplace_back(data.data() + pos, data.size() - pos);
    return parts;
}

std::string joined(const std::vector<bytes>& parts) {
    std::string out;
    for (auto p : parts) out.append(reinterpret_cast<const char*>(p.data()), p.size());
    return out;
}

TEST(frame_codec, our_data_frames_are_protobuf_frames) {
    const std::string payload(70000, 'z');
    for (auto [offset, ack, fin] : {std::tuple{0ull, 0ull, false}, {1ull << 40, 12345ull, true},
                                    {300ull, 0ull, false}}) {
        auto h = encode_data_header(offset, ack, fin, payload.size());
        std::string wire(reinterpret_cast<const char*>(h.buf.data()), h.size);
        wire += payload;
        v1::Frame f;
        ASSERT_TRUE(f.ParseFromString(wire));
        EXPECT_EQ(f.offset(), offset);
        EXPECT_EQ(f.ack(), ack);
        EXPECT_EQ(f.fin(), fin);
        EXPECT_EQ(f.data(), payload);
        EXPECT_EQ(f.head_case(), v1::Frame::HEAD_NOT_SET);
    }
}

TEST(frame_codec, decodes_protobuf_frames_split_anywhere_without_copying) {
    v1::Frame f;
    f.set_offset(987654321);
    f.set_ack(42);
    f.set_fin(true);
    std::string payload(100000, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
    f.set_data(payload);
    const auto wire = to_vec(f.SerializeAsString());
    for (std::uint32_t seed = 0; seed < 50; ++seed) {
        const auto parts = split(wire, seed);
        decoded d;
        ASSERT_EQ(decode(parts, d), "") << "seed " << seed;
        EXPECT_EQ(d.offset, 987654321u);
        EXPECT_EQ(d.ack, 42u);
        EXPECT_TRUE(d.fin);
        EXPECT_FALSE(d.has_head);
        EXPECT_EQ(d.data_size, payload.size());
        EXPECT_EQ(joined(d.data), payload);
        // The payload ranges point into the input.
        for (auto r : d.data)
            EXPECT_TRUE(r.data() >= wire.data() && r.data() + r.size() <= wire.data() + wire.size());
    }
}

TEST(frame_codec, flags_head_and_error_frames_for_protobuf) {
    v1::Frame hello;
    hello.mutable_hello()->set_run_id("abc");
    const auto w1 = to_vec(hello.SerializeAsString());
    decoded d;
    ASSERT_EQ(decode({bytes(w1)}, d), "");
    EXPECT_TRUE(d.has_head);

    // Every kind of head: a visit, its answer, a re-attach and its answer.
    v1::Frame heads[4];
    heads[0].mutable_visit()->set_server_name("s");
    heads[1].mutable_visited()->set_tag("[s/1]");
    heads[2].mutable_resume()->set_session_id(7);
    heads[3].mutable_resumed()->set_received(5);
    for (const auto& h : heads) {
        const auto w = to_vec(h.SerializeAsString());
        decoded dh;
        ASSERT_EQ(decode({bytes(w)}, dh), "");
        EXPECT_TRUE(dh.has_head) << h.ShortDebugString();
    }

    v1::Frame err;
    err.set_error("local service unreachable");
    const auto w2 = to_vec(err.SerializeAsString());
    ASSERT_EQ(decode({bytes(w2)}, d), "");
    EXPECT_TRUE(d.has_error);
    EXPECT_FALSE(d.has_head);
}

TEST(frame_codec, skips_unknown_fields) {
    const std::vector<u8> wire = {
        0x78, 0x96, 0x01,                          // field 15, varint 150
        0x82, 0x01, 0x02, 'h', 'i',                // field 16, length-delimited "hi"
        0x8d, 0x01, 1, 2, 3, 4,                    // field 17, fixed32
        0x91, 0x01, 1, 2, 3, 4, 5, 6, 7, 8,        // field 18, fixed64
        0x20, 0x09,                                // field 4 (offset) = 9
    };
    decoded d;
    ASSERT_EQ(decode({bytes(wire)}, d), "");
    EXPECT_EQ(d.offset, 9u);
}

TEST(frame_codec, rejects_malformed_input) {
    decoded d;
    auto check = [&](std::vector<u8> wire, const std::string& expect) {
        auto err = decode({bytes(wire)}, d, 1000);
        EXPECT_NE(err.find(expect), std::string::npos) << "got '" << err << "'";
    };
    check({4 << 3}, "truncated varint");
    check({4 << 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
          "truncated varint");  // 11-byte varint
    check({3 << 3 | 2, 10, 'a'}, "truncated data");
    check({3 << 3 | 2, 0xe9, 0x07}, "exceeds the 1000 byte limit");  // 1001 bytes declared
    check({3 << 3 | 2, 1, 'a', 3 << 3 | 2, 1, 'b'}, "repeated data field");
    check({4 << 3 | 2, 0}, "field 4 has wire type 2");
    check({3 << 3 | 0, 1}, "field 3 has wire type 0");
    check({0}, "bad field number");
    check({1 << 3 | 3}, "wire type 3");
    check({0x80}, "truncated or overlong field key");
}

TEST(frame_codec, empty_input_is_an_empty_frame) {
    decoded d;
    EXPECT_EQ(decode({}, d), "");
    EXPECT_EQ(d.data_size, 0u);
    EXPECT_FALSE(d.fin);
}


TEST(frame_codec, resume_heads_are_protobuf_heads) {
    using frame_codec::decode_resume_head;
    using frame_codec::encode_resume_head;
    for (const stream::resume_point p :
         {stream::resume_point{0, false}, {1, false}, {300, true}, {~0ull, true}}) {
        v1::Frame rewind;
        ASSERT_TRUE(rewind.ParseFromString(encode_resume_head(frame_codec::f_resume, p)));
        ASSERT_TRUE(rewind.has_resume());
        EXPECT_EQ(rewind.resume().received(), p.received);
        EXPECT_EQ(rewind.resume().received_fin(), p.fin);
        EXPECT_TRUE(rewind.resume().session_secret().empty());

        v1::Frame answer;
        answer.mutable_resumed()->set_received(p.received);
        answer.mutable_resumed()->set_received_fin(p.fin);
        EXPECT_EQ(encode_resume_head(frame_codec::f_resumed, p), answer.SerializeAsString());
        const auto back = decode_resume_head(answer.SerializeAsString());
        ASSERT_TRUE(back);
        EXPECT_EQ(back->which, frame_codec::f_resumed);
        EXPECT_EQ(back->point.received, p.received);
        EXPECT_EQ(back->point.fin, p.fin);
    }
    // A client's full Resume decodes to its point, other fields skipped.
    v1::Frame full;
    auto* r = full.mutable_resume();
    r->set_run_id("run");
    r->set_session_id(7);
    r->set_session_secret(std::string(16, 'k'));
    r->set_received(12345);
    const auto got = decode_resume_head(full.SerializeAsString());
    ASSERT_TRUE(got);
    EXPECT_EQ(got->which, frame_codec::f_resume);
    EXPECT_EQ(got->point.received, 12345u);
    EXPECT_FALSE(got->point.fin);
}

// Found by fuzzing against protobuf (tests/fuzz/regressions/frame_codec):
// what protobuf would read differently is refused.
TEST(frame_codec, keys_and_heads_protobuf_reads_otherwise_are_refused) {
    using frame_codec::decode_resume_head;
    using frame_codec::encode_resume_head;
    decoded d;
    // A key beyond 32 bits whose low bits name the data field (3, bytes).
    const std::vector<u8> long_key{0x1a | 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 1, 'x'};
    EXPECT_EQ(decode({bytes(long_key)}, d), "truncated or overlong field key");
    EXPECT_FALSE(decode_resume_head(std::string(long_key.begin(), long_key.end())));
    EXPECT_FALSE(decode_resume_head(std::string(1, '\0') + encode_resume_head(frame_codec::f_resume, {1, false})));
    // A small key padded with zero groups to 10 bytes: protobuf reads at
    // most 5 bytes of a key and refuses the frame.
    const std::vector<u8> padded_key{0x80, 0x80, 0x84, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x0a, 0};
    v1::Frame f;
    EXPECT_FALSE(f.ParseFromArray(padded_key.data(), static_cast<int>(padded_key.size())));
    EXPECT_EQ(decode({bytes(padded_key)}, d), "truncated or overlong field key");
    EXPECT_FALSE(decode_resume_head(std::string(padded_key.begin(), padded_key.end())));
    // Five bytes are still a key (field 1 << 25, an unknown varint: skipped).
    const std::vector<u8> five_byte_key{0x80, 0x80, 0x80, 0x80, 0x01, 0};
    EXPECT_TRUE(f.ParseFromArray(five_byte_key.data(), static_cast<int>(five_byte_key.size())));
    EXPECT_EQ(decode({bytes(five_byte_key)}, d), "");
    // Resumed followed by another head member: protobuf keeps the later one.
    v1::Frame hello;
    hello.mutable_hello()->set_run_id("r");
    EXPECT_FALSE(decode_resume_head(encode_resume_head(frame_codec::f_resumed, {5, false}) +
                                    hello.SerializeAsString()));
    // Another head member first, then Resume: protobuf keeps the Resume too.
    const auto resume_last = decode_resume_head(hello.SerializeAsString() +
                                                encode_resume_head(frame_codec::f_resume, {5, true}));
    ASSERT_TRUE(resume_last);
    EXPECT_EQ(resume_last->point.received, 5u);
}

TEST(frame_codec, other_or_broken_heads_have_no_resume_point) {
    using frame_codec::decode_resume_head;
    v1::Frame start;
    start.mutable_start()->set_proxy("ssh");
    EXPECT_FALSE(decode_resume_head(start.SerializeAsString()));
    EXPECT_FALSE(decode_resume_head(""));
    const auto good = frame_codec::encode_resume_head(frame_codec::f_resumed, {99, true});
    for (std::size_t cut = 1; cut < good.size(); ++cut)
        EXPECT_FALSE(decode_resume_head(good.substr(0, cut))) << cut;
    EXPECT_FALSE(decode_resume_head(std::string("\x5a\x7f", 2)));  // length beyond the end
}

}  // namespace
}  // namespace burrow::frame_codec
