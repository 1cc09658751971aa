//! Integration tests of `wx::crypto` against the test vectors of reference §1.9 (A–E), §2.6
//! (F) and §3.5 (G), plus property tests (round trips, tampering, no panics).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use wx::crypto::{
    CallbackQuery, CryptoError, EncodingAesKey, EnvelopeFormat, InboundEnvelope, MsgCrypt,
    ReceiveId, ReplyEnvelope, decrypt_mini_program_data, encrypt_mini_program_data,
    jsapi_signature, msg_signature, pkcs7, signature, verify_msg_signature, verify_oa_url,
    verify_raw_data_signature, verify_signature, write_reply,
};

fn crypt(token: &str, key: &str, receive_id: &str) -> MsgCrypt {
    let key = EncodingAesKey::parse(key).expect("vector key parses");
    MsgCrypt::new(token, &key, ReceiveId::exact(receive_id))
}

/// Percent-encodes a query value the way WeChat does (`+`, `/`, `=` escaped).
fn enc(v: &str) -> String {
    v.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

// ---------------------------------------------------------------------------------------
// Vector A: WeCom official sample
// ---------------------------------------------------------------------------------------

const A_TOKEN: &str = "QDG6eK";
const A_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const A_CORP: &str = "wx5823bf96d3bd56c7";
const A_ECHOSTR: &str =
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
const A_POST_ENCRYPT: &str = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";
const A_POST_PLAIN: &str = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>";

#[test]
fn vector_a_url_verification() {
    let c = crypt(A_TOKEN, A_KEY, A_CORP);
    assert_eq!(
        msg_signature(A_TOKEN, "1409659589", "263014780", A_ECHOSTR),
        "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    );
    let raw = format!(
        "msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr={}",
        enc(A_ECHOSTR)
    );
    let q = CallbackQuery::parse(&raw).unwrap();
    let out = c.verify_wecom_url(&q).unwrap();
    assert_eq!(out.message(), b"1616140317555161061");
    assert_eq!(out.receive_id(), A_CORP);
    // Encryption direction: the documented random prefix reproduces the echostr (pad 7).
    let again = c
        .encrypt_with_random(b"c41b64491c2468d0", b"1616140317555161061", A_CORP)
        .unwrap();
    assert_eq!(again, A_ECHOSTR);
    assert_eq!(STANDARD.decode(A_ECHOSTR).unwrap().len(), 64); // 16+4+19+18 = 57, + pad 7

    // A framework that form-decodes `+` into a space breaks the signature: the raw parser
    // must not. (Unescaped `+` in the query is still `+`.)
    let raw_plus = raw.replace("%2B", "+");
    let q = CallbackQuery::parse(&raw_plus).unwrap();
    assert_eq!(q.echostr.as_deref(), Some(A_ECHOSTR));
    c.verify_wecom_url(&q).unwrap();
}

#[test]
fn vector_a_post() {
    let c = crypt(A_TOKEN, A_KEY, A_CORP);
    let sig = "477715d11cdb4164915debcba66cb864d751f3e6";
    assert_eq!(
        msg_signature(A_TOKEN, "1409659813", "1372623149", A_POST_ENCRYPT),
        sig
    );
    let out = c
        .verify_and_decrypt(sig, "1409659813", "1372623149", A_POST_ENCRYPT)
        .unwrap();
    assert_eq!(out.message_str().unwrap(), A_POST_PLAIN);
    assert_eq!(out.message().len(), 284);
    assert_eq!(out.receive_id(), A_CORP);
    // 16 + 4 + 284 + 18 = 322 bytes, padded with 30 to 352.
    assert_eq!(STANDARD.decode(A_POST_ENCRYPT).unwrap().len(), 352);

    // The same through the one-call helper, with a WeCom envelope and query.
    let body = format!(
        "<xml><ToUserName><![CDATA[{A_CORP}]]></ToUserName>\n<Encrypt><![CDATA[{A_POST_ENCRYPT}]]></Encrypt>\n<AgentID><![CDATA[218]]></AgentID>\n</xml>"
    );
    let raw_query = format!("msg_signature={sig}&timestamp=1409659813&nonce=1372623149");
    let q = CallbackQuery::parse(&raw_query).unwrap();
    let cb = c.decrypt_callback(&q, body.as_bytes()).unwrap();
    assert_eq!(cb.envelope.agent_id.as_deref(), Some("218"));
    assert_eq!(cb.envelope.to_user_name.as_deref(), Some(A_CORP));
    assert_eq!(cb.message.into_string().unwrap(), A_POST_PLAIN);

    // JSON variant of the same push.
    let json = InboundEnvelope {
        to_user_name: Some(A_CORP.into()),
        encrypt: A_POST_ENCRYPT.into(),
        agent_id: Some("218".into()),
    }
    .to_json();
    let cb = c.decrypt_callback(&q, json.as_bytes()).unwrap();
    assert_eq!(cb.message.message_str().unwrap(), A_POST_PLAIN);

    // Wrong corp id: -40005; Any returns the id found.
    let other = crypt(A_TOKEN, A_KEY, "ww0000000000000000");
    let err = other
        .verify_and_decrypt(sig, "1409659813", "1372623149", A_POST_ENCRYPT)
        .unwrap_err();
    assert_eq!(err, CryptoError::ValidateReceiveId);
    assert_eq!(err.code(), -40005);
    let any = other.with_receive_id(ReceiveId::Any);
    let out = any
        .verify_and_decrypt(sig, "1409659813", "1372623149", A_POST_ENCRYPT)
        .unwrap();
    assert_eq!(out.receive_id(), A_CORP);

    // Wrong token / tampered timestamp: -40001.
    let wrong = crypt("QDG6eL", A_KEY, A_CORP);
    let err = wrong
        .verify_and_decrypt(sig, "1409659813", "1372623149", A_POST_ENCRYPT)
        .unwrap_err();
    assert_eq!(err.code(), -40001);
    let err = c
        .verify_and_decrypt(sig, "1409659814", "1372623149", A_POST_ENCRYPT)
        .unwrap_err();
    assert_eq!(err, CryptoError::ValidateSignature);
    // Missing parameter: -40001 too.
    let q = CallbackQuery::parse("timestamp=1409659813&nonce=1372623149").unwrap();
    let err = c.decrypt_callback(&q, body.as_bytes()).unwrap_err();
    assert_eq!(err, CryptoError::MissingParameter("msg_signature"));
    assert_eq!(err.code(), -40001);
}

// ---------------------------------------------------------------------------------------
// Vector B: WeCom official Python sample (no CDATA, CJK)
// ---------------------------------------------------------------------------------------

const B_TOKEN: &str = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
const B_KEY: &str = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
const B_CORP: &str = "ww1436e0e65a779aee";

#[test]
fn vector_b_url_verification() {
    let c = crypt(B_TOKEN, B_KEY, B_CORP);
    let echostr =
        "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==";
    let raw = format!(
        "msg_signature=012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb&timestamp=1476416373&nonce=47744683&echostr={}",
        enc(echostr)
    );
    let q = CallbackQuery::parse(&raw).unwrap();
    let out = c.verify_wecom_url(&q).unwrap();
    assert_eq!(out.message_str().unwrap(), "1288432023552776189");
}

#[test]
fn vector_b_post() {
    let c = crypt(B_TOKEN, B_KEY, B_CORP);
    let encrypt = "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+";
    let body = format!(
        "<xml><ToUserName><![CDATA[{B_CORP}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"
    );
    let q = CallbackQuery::parse(
        "msg_signature=0c3914025cb4b4d68103f6bfc8db550f79dcf48e&timestamp=1476422779&nonce=1597212914",
    )
    .unwrap();
    let out = c.decrypt_callback(&q, body.as_bytes()).unwrap().message;
    let text = out.message_str().unwrap();
    assert_eq!(
        text,
        "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName><CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content><MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
    );
    assert_eq!(text.len(), 228);
}

// ---------------------------------------------------------------------------------------
// Vector C: wechatpy (encryption with a fixed random prefix)
// ---------------------------------------------------------------------------------------

const C_TOKEN: &str = "123456";
const C_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const C_APP: &str = "wx49f0ab532d5d035a";

#[test]
fn vector_c_url_verification() {
    let c = crypt(C_TOKEN, C_KEY, C_APP);
    let echostr =
        "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==";
    let out = c
        .verify_and_decrypt(
            "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
            "1411443780",
            "437374425",
            echostr,
        )
        .unwrap();
    assert_eq!(out.message_str().unwrap(), "5927782489442352469");
}

#[test]
fn vector_c_encrypt_reply() {
    let c = crypt(C_TOKEN, C_KEY, C_APP);
    let plain = [
        "<xml>",
        "<MsgType><![CDATA[text]]></MsgType>",
        "<Content><![CDATA[test]]></Content>",
        "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>",
        "<ToUserName><![CDATA[messense]]></ToUserName>",
        "<AgentID>1</AgentID>",
        "<CreateTime>1411525903</CreateTime>",
        "</xml>",
    ]
    .join("\n");
    let expected_encrypt = "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3";
    let expected_sig = "407518b7649e86ef23978113f92d27afa9296533";
    let random = b"1234567890123456";

    let encrypt = c
        .encrypt_with_random(random, plain.as_bytes(), C_APP)
        .unwrap();
    assert_eq!(encrypt, expected_encrypt);
    assert_eq!(
        c.msg_signature("1411525903", "461056294", &encrypt),
        expected_sig
    );

    let xml = c
        .encrypt_reply_with_random(
            random,
            EnvelopeFormat::Xml,
            plain.as_bytes(),
            C_APP,
            "1411525903",
            "461056294",
        )
        .unwrap();
    assert_eq!(
        xml,
        format!(
            "<xml><Encrypt><![CDATA[{expected_encrypt}]]></Encrypt><MsgSignature><![CDATA[{expected_sig}]]></MsgSignature><TimeStamp>1411525903</TimeStamp><Nonce><![CDATA[461056294]]></Nonce></xml>"
        )
    );
    assert_eq!(
        xml,
        write_reply(
            EnvelopeFormat::Xml,
            expected_encrypt,
            expected_sig,
            "1411525903",
            "461056294"
        )
    );
    assert_eq!(
        c.decrypt_reply(xml.as_bytes())
            .unwrap()
            .message_str()
            .unwrap(),
        plain
    );

    let json = c
        .encrypt_reply_with_random(
            random,
            EnvelopeFormat::Json,
            plain.as_bytes(),
            C_APP,
            "1411525903",
            "461056294",
        )
        .unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"encrypt":"{expected_encrypt}","msgsignature":"{expected_sig}","timestamp":1411525903,"nonce":"461056294"}}"#
        )
    );
    let parsed = ReplyEnvelope::parse(json.as_bytes()).unwrap();
    assert_eq!(parsed.msg_signature, expected_sig);
    assert_eq!(
        c.decrypt_reply(json.as_bytes())
            .unwrap()
            .message_str()
            .unwrap(),
        plain
    );
}

#[test]
fn vector_c_decrypt() {
    let c = crypt(C_TOKEN, C_KEY, C_APP);
    let encrypt = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=";
    let out = c
        .verify_and_decrypt(
            "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
            "1411525903",
            "461056294",
            encrypt,
        )
        .unwrap();
    let text = out.message_str().unwrap();
    assert!(
        text.contains("<FromUserName><![CDATA[messense]]></FromUserName>"),
        "{text}"
    );
    assert!(text.contains("<Content><![CDATA[test]]></Content>"));
    assert!(text.contains("4363689963896700987"));
    // Pad byte 1: 16 + 4 + len + 18 + 1 is a multiple of 32.
    let cipher_len = STANDARD.decode(encrypt).unwrap().len();
    assert_eq!(16 + 4 + text.len() + C_APP.len() + 1, cipher_len);
}

// ---------------------------------------------------------------------------------------
// Vector D: OA official values (key with trailing bits, CJK)
// ---------------------------------------------------------------------------------------

#[test]
fn vector_d_encrypt_and_back() {
    let key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    assert_eq!(
        hex::encode(EncodingAesKey::parse(key).unwrap().expose_bytes()),
        "69b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39ebbf3d0010831051"
    );
    let c = crypt("pamtest", key, "wxb11529c136998cb6");
    let expected =
        "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==";
    let encrypt = c
        .encrypt_with_random(
            b"aaaabbbbccccdddd",
            "我是中文abcd123".as_bytes(),
            "wxb11529c136998cb6",
        )
        .unwrap();
    assert_eq!(encrypt, expected);
    let sig = msg_signature("pamtest", "1409304348", "xxxxxx", expected);
    assert_eq!(sig, "82c962d39941aa48552f90ef55aa323dc620cc10");
    let out = c
        .verify_and_decrypt(sig.as_str(), "1409304348", "xxxxxx", expected)
        .unwrap();
    assert_eq!(out.message_str().unwrap(), "我是中文abcd123");
    verify_msg_signature("pamtest", "1409304348", "xxxxxx", expected, sig.as_str()).unwrap();
}

// ---------------------------------------------------------------------------------------
// Vector E: plain-mode OA signature
// ---------------------------------------------------------------------------------------

#[test]
fn vector_e_plain_signature_and_oa_url() {
    assert_eq!(
        signature("test", "1410685589", "test"),
        "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"
    );
    verify_signature(
        "test",
        "1410685589",
        "test",
        "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff",
    )
    .unwrap();
    let q = CallbackQuery::parse(
        "signature=f21891de399b4e33a1a93c9a7b8a8fffb5a443ff&timestamp=1410685589&nonce=test&echostr=a+b%2Bc",
    )
    .unwrap();
    // echostr is returned unchanged (decoded once, `+` kept).
    assert_eq!(verify_oa_url("test", &q).unwrap(), "a+b+c");
    let err = verify_oa_url("test2", &q).unwrap_err();
    assert_eq!(err.code(), -40001);
    let q = CallbackQuery::parse(
        "signature=f21891de399b4e33a1a93c9a7b8a8fffb5a443ff&timestamp=1410685589&nonce=test",
    )
    .unwrap();
    assert_eq!(
        verify_oa_url("test", &q),
        Err(CryptoError::MissingParameter("echostr"))
    );
}

// ---------------------------------------------------------------------------------------
// Vector F: JS-SDK
// ---------------------------------------------------------------------------------------

#[test]
fn vector_f_jsapi_signature() {
    let ticket =
        "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg";
    assert_eq!(
        jsapi_signature(
            ticket,
            "Wm3WZYTPz0wzccnW",
            "1414587457",
            "http://mp.weixin.qq.com?params=value"
        ),
        "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    );
    assert_eq!(
        jsapi_signature(
            ticket,
            "Wm3WZYTPz0wzccnW",
            "1414587457",
            "http://mp.weixin.qq.com"
        ),
        "f4d90daf4b3bca3078ab155816175ba34c443a7b"
    );
}

// ---------------------------------------------------------------------------------------
// Vector G: Mini Program encryptedData
// ---------------------------------------------------------------------------------------

const G_APP: &str = "wx4f4bc4dec97d474b";
const G_SESSION_KEY: &str = "tiihtNczf5v6AKRyjwEUhQ==";
const G_IV: &str = "r7BXXKkLb8qrSNn05n0qiA==";
const G_DATA: &str = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==";

#[test]
fn vector_g_mini_program() {
    let v = decrypt_mini_program_data(G_APP, G_SESSION_KEY, G_DATA, G_IV).unwrap();
    assert_eq!(v["openId"], "oGZUI0egBJY1zhBYw2KhdUfwVJJE");
    assert_eq!(v["nickName"], "Band");
    assert_eq!(v["unionId"], "ocMvos6NjeKLIBqg5Mr9QjxrP1FA");
    assert_eq!(v["gender"], 1);
    assert_eq!(v["city"], "Guangzhou");
    assert_eq!(v["watermark"]["appid"], G_APP);
    assert_eq!(v["watermark"]["timestamp"], 1_477_314_187);

    // Encryption direction: re-encrypting the canonical plaintext gives back a ciphertext
    // that decrypts to the same document.
    let again = encrypt_mini_program_data(G_SESSION_KEY, G_IV, v.to_string().as_bytes()).unwrap();
    assert_eq!(
        decrypt_mini_program_data(G_APP, G_SESSION_KEY, &again, G_IV).unwrap(),
        v
    );

    // Typed errors.
    let err = decrypt_mini_program_data("wx0000000000000000", G_SESSION_KEY, G_DATA, G_IV);
    assert_eq!(err, Err(CryptoError::WatermarkMismatch));
    let err = decrypt_mini_program_data(G_APP, "dGlpaHQ=", G_DATA, G_IV).unwrap_err();
    assert_eq!(err.code(), -40004);
    let err = decrypt_mini_program_data(G_APP, G_SESSION_KEY, G_DATA, "cjdCWFhL").unwrap_err();
    assert_eq!(err, CryptoError::IllegalIv);
    let err = decrypt_mini_program_data(G_APP, G_SESSION_KEY, "***", G_IV).unwrap_err();
    assert_eq!(err, CryptoError::DecodeBase64);
    let err = decrypt_mini_program_data(G_APP, G_SESSION_KEY, "AAAA", G_IV).unwrap_err();
    assert_eq!(err.code(), -40007);
    // A different session key: padding (almost surely) or JSON fails, never a panic.
    let err =
        decrypt_mini_program_data(G_APP, "AAAAAAAAAAAAAAAAAAAAAA==", G_DATA, G_IV).unwrap_err();
    assert!([-40008, -40002].contains(&err.code()), "{err:?}");
    // No watermark at all.
    let no_wm = encrypt_mini_program_data(G_SESSION_KEY, G_IV, br#"{"openId":"x"}"#).unwrap();
    let err = decrypt_mini_program_data(G_APP, G_SESSION_KEY, &no_wm, G_IV);
    assert_eq!(err, Err(CryptoError::WatermarkMismatch));
    let not_json = encrypt_mini_program_data(G_SESSION_KEY, G_IV, b"hello").unwrap();
    let err = decrypt_mini_program_data(G_APP, G_SESSION_KEY, &not_json, G_IV).unwrap_err();
    assert_eq!(err.code(), -40002);

    // rawData signature: sha1(rawData + session_key).
    let raw = r#"{"nickName":"Band","gender":1}"#;
    let sig = {
        use sha1::Digest as _;
        hex::encode(sha1::Sha1::digest(
            format!("{raw}{G_SESSION_KEY}").as_bytes(),
        ))
    };
    verify_raw_data_signature(raw, G_SESSION_KEY, &sig).unwrap();
    assert!(verify_raw_data_signature(raw, "x", &sig).is_err());
}

// ---------------------------------------------------------------------------------------
// Edge cases and error messages
// ---------------------------------------------------------------------------------------

#[test]
fn large_message_roundtrip_1mib() {
    let c = crypt(A_TOKEN, A_KEY, A_CORP);
    let unit = "你好, WeChat 🚀 ]]> <Content>\n";
    let mut msg = String::with_capacity(1 << 20);
    while msg.len() + unit.len() <= 1 << 20 {
        msg.push_str(unit);
    }
    while msg.len() < 1 << 20 {
        msg.push('x');
    }
    assert_eq!(msg.len(), 1 << 20);
    let reply = c
        .encrypt_reply(
            EnvelopeFormat::Xml,
            msg.as_bytes(),
            A_CORP,
            "1409659813",
            "n",
        )
        .unwrap();
    let out = c.decrypt_reply(reply.as_bytes()).unwrap();
    assert_eq!(out.message(), msg.as_bytes());
}

#[test]
fn errors_never_leak_secrets_or_plaintext() {
    let c = crypt(A_TOKEN, A_KEY, "expected-id");
    let enc = c.encrypt(b"top secret plaintext", "found-id").unwrap();
    let err = c.decrypt(&enc).unwrap_err();
    for text in [err.to_string(), format!("{err:?}"), format!("{c:?}")] {
        assert!(!text.contains("secret"), "{text}");
        assert!(!text.contains("found-id"), "{text}");
        assert!(!text.contains(A_TOKEN), "{text}");
        assert!(!text.contains(A_KEY), "{text}");
    }
    let key = EncodingAesKey::parse(A_KEY).unwrap();
    assert_eq!(format!("{key:?}"), "EncodingAesKey(***)");
    let err = EncodingAesKey::parse("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2").unwrap_err();
    assert!(!err.to_string().contains("jWmYm7"));
    assert_eq!(err.code(), -40004);
}

#[test]
fn full_padding_block_when_aligned() {
    // 16 + 4 + len + rid = 64 → a full 32-byte pad block of 0x20.
    let c = crypt(A_TOKEN, A_KEY, A_CORP);
    let msg = vec![b'a'; 64 - 16 - 4 - A_CORP.len()];
    let enc = c.encrypt_with_random(&[b'r'; 16], &msg, A_CORP).unwrap();
    assert_eq!(STANDARD.decode(&enc).unwrap().len(), 96);
    assert_eq!(c.decrypt(&enc).unwrap().message(), &msg[..]);
}

/// Encrypts an arbitrary, already padded plaintext with AES-256-CBC (IV = key[0..16]) using
/// the RustCrypto crates directly: an independent encryptor to craft malformed buffers.
fn raw_encrypt(key: &str, plain: &[u8]) -> String {
    use aes::cipher::{BlockModeEncrypt as _, KeyIvInit as _, array::Array};
    assert_eq!(plain.len() % 16, 0);
    let key = EncodingAesKey::parse(key).unwrap();
    let bytes = key.expose_bytes();
    let mut buf = plain.to_vec();
    let (blocks, _) = Array::slice_as_chunks_mut(&mut buf);
    cbc::Encryptor::<aes::Aes256>::new(
        &Array::from(*bytes),
        &Array::try_from(&bytes[..16]).unwrap(),
    )
    .encrypt_blocks(blocks);
    STANDARD.encode(&buf)
}

/// `random16 || u32_be(len_field) || rest`, padded with `pad` bytes of value `pad_value`.
fn craft(len_field: u32, rest: &[u8], pad: usize, pad_value: u8) -> Vec<u8> {
    let mut v = vec![b'r'; 16];
    v.extend_from_slice(&len_field.to_be_bytes());
    v.extend_from_slice(rest);
    v.resize(v.len() + pad, pad_value);
    v
}

#[test]
fn independent_encryptor_agrees() {
    // Our encryptor equals plain AES-256-CBC over the documented layout (reference §1.3).
    let c = crypt(A_TOKEN, A_KEY, A_CORP);
    let mut rest = b"hello".to_vec();
    rest.extend_from_slice(A_CORP.as_bytes());
    let n = 32 - (16 + 4 + rest.len()) % 32;
    let expected = raw_encrypt(A_KEY, &craft(5, &rest, n, n as u8));
    assert_eq!(
        c.encrypt_with_random(&[b'r'; 16], b"hello", A_CORP)
            .unwrap(),
        expected
    );
}

#[test]
fn malformed_buffers_are_rejected() {
    let c = crypt(A_TOKEN, A_KEY, A_CORP);
    let any = c.with_receive_id(ReceiveId::Any);
    let mut ok_rest = b"hi".to_vec();
    ok_rest.extend_from_slice(A_CORP.as_bytes()); // 16+4+2+18 = 40 → pad 24
    let cases: Vec<(Vec<u8>, CryptoError)> = vec![
        // Length field larger than the buffer.
        (
            craft(1000, &ok_rest, 24, 24),
            CryptoError::IllegalBuffer("length field out of bounds"),
        ),
        (
            craft(u32::MAX, &ok_rest, 24, 24),
            CryptoError::IllegalBuffer("length field out of bounds"),
        ),
        // Length field one too long: the receive id loses its first byte.
        (craft(3, &ok_rest, 24, 24), CryptoError::ValidateReceiveId),
        // Pad count 0, above 32, or inconsistent pad bytes.
        (
            craft(2, &ok_rest, 24, 0),
            CryptoError::IllegalBuffer("bad padding"),
        ),
        (
            craft(2, &ok_rest, 24, 33),
            CryptoError::IllegalBuffer("bad padding"),
        ),
        (
            {
                let mut v = craft(2, &ok_rest, 24, 24);
                v[50] = 23;
                v
            },
            CryptoError::IllegalBuffer("bad padding"),
        ),
        // Plaintext shorter than random16 + length field after unpadding.
        (
            vec![32u8; 32],
            CryptoError::IllegalBuffer("plaintext shorter than its header"),
        ),
        (
            {
                let mut v = vec![b'r'; 16];
                v.extend_from_slice(&[
                    0, 0, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
                ]);
                v
            },
            CryptoError::IllegalBuffer("plaintext shorter than its header"),
        ),
    ];
    for (plain, expected) in cases {
        let enc = raw_encrypt(A_KEY, &plain);
        assert_eq!(c.decrypt(&enc).unwrap_err(), expected, "{plain:?}");
        assert_eq!(
            expected.code() == -40005,
            any.decrypt(&enc).is_ok(),
            "{plain:?}"
        );
    }

    // A peer padding to 16 (pad count 8 here) is still accepted.
    let enc = raw_encrypt(A_KEY, &craft(2, &ok_rest, 8, 8));
    assert_eq!(c.decrypt(&enc).unwrap().message(), b"hi");
    // Non-UTF-8 receive id with the Any policy: -40005; non-UTF-8 message: -40008 on text.
    let enc = raw_encrypt(A_KEY, &craft(2, b"hi\xff\xfe", 8, 8));
    assert_eq!(any.decrypt(&enc).unwrap_err().code(), -40005);
    let enc = raw_encrypt(A_KEY, &craft(2, b"\xff\xfe", 10, 10));
    let out = any.decrypt(&enc).unwrap();
    assert_eq!(out.receive_id(), "");
    assert_eq!(out.message_str().unwrap_err().code(), -40008);
    assert_eq!(out.into_string().unwrap_err().code(), -40008);
    // Ciphertext length not a multiple of 16 (valid base64 of 17 bytes).
    let err = c.decrypt(&STANDARD.encode([0u8; 17])).unwrap_err();
    assert_eq!(err.code(), -40007);
}

#[test]
fn lying_length_field_via_cbc_malleability() {
    // Flipping bit 7 of ciphertext byte 0 flips bit 7 of plaintext byte 16: the top bit of the
    // length field. Decryption must reject the resulting length, not panic or over-read.
    let c = crypt(A_TOKEN, A_KEY, A_CORP);
    let enc = c
        .encrypt_with_random(&[b'r'; 16], b"hello", A_CORP)
        .unwrap();
    let mut raw = STANDARD.decode(&enc).unwrap();
    raw[0] ^= 0x80;
    let err = c.decrypt(&STANDARD.encode(&raw)).unwrap_err();
    assert_eq!(
        err,
        CryptoError::IllegalBuffer("length field out of bounds")
    );
    assert_eq!(err.code(), -40008);
}

// ---------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------

/// UTF-8 strings weighted towards the interesting cases: empty, CJK, emoji, `]]>`, XML.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("]]>".to_owned()),
        Just("<xml><Content><![CDATA[a]]>b]]></Content></xml>".to_owned()),
        "[你好世界微信企业🚀😀👍🏽]{0,40}",
        "[a-zA-Z0-9 <>&\\]\\[!]{0,300}",
        proptest::collection::vec(any::<char>(), 0..600).prop_map(String::from_iter),
        proptest::collection::vec(any::<char>(), 2000..6000).prop_map(String::from_iter),
    ]
}

fn receive_id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "(wx|ww)[0-9a-f]{16}",
        proptest::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter),
    ]
}

/// Flips bit `bit` (modulo the length) of `bytes`.
fn flip(bytes: &mut [u8], bit: usize) -> usize {
    let bit = bit % (bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
    bit / 8
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn roundtrip_any_text(msg in text(), rid in receive_id(), random in any::<[u8; 16]>(),
                          ts in "[0-9]{10}", nonce in "[0-9a-zA-Z]{1,16}") {
        let key = EncodingAesKey::generate();
        let c = MsgCrypt::new("token", &key, ReceiveId::exact(rid.clone()));
        let enc = c.encrypt_with_random(&random, msg.as_bytes(), &rid).unwrap();
        let raw_len = STANDARD.decode(&enc).unwrap().len();
        prop_assert_eq!(raw_len % 32, 0);
        let sig = c.msg_signature(&ts, &nonce, &enc);
        let out = c.verify_and_decrypt(sig.as_str(), &ts, &nonce, &enc).unwrap();
        prop_assert_eq!(out.message_str().unwrap(), msg.as_str());
        prop_assert_eq!(out.receive_id(), rid.as_str());

        for format in [EnvelopeFormat::Xml, EnvelopeFormat::Json] {
            let reply = c.encrypt_reply(format, msg.as_bytes(), &rid, &ts, &nonce).unwrap();
            let out = c.decrypt_reply(reply.as_bytes()).unwrap();
            prop_assert_eq!(out.into_string().unwrap(), msg.clone());
        }

        // As an inbound push through the hot-path helper.
        let envelope = InboundEnvelope { to_user_name: Some("gh_x".into()), encrypt: enc.as_str().into(), agent_id: None };
        let body = envelope.to_xml();
        let query = format!("msg_signature={sig}&timestamp={ts}&nonce={nonce}&encrypt_type=aes");
        let q = CallbackQuery::parse(&query).unwrap();
        let cb = c.decrypt_callback(&q, body.as_bytes()).unwrap();
        prop_assert_eq!(cb.message.message(), msg.as_bytes());
    }

    #[test]
    fn pad_unpad_pair(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut v = data.clone();
        pkcs7::pad::<32>(&mut v);
        let n = v.len() - data.len();
        prop_assert!((1..=32).contains(&n));
        prop_assert_eq!(v.len() % 32, 0);
        prop_assert!(v[data.len()..].iter().all(|&b| usize::from(b) == n));
        prop_assert_eq!(pkcs7::unpad::<32>(&v).unwrap(), data.len());
        let mut w = data.clone();
        pkcs7::pad::<16>(&mut w);
        prop_assert_eq!(pkcs7::unpad::<16>(&w).unwrap(), data.len());
    }

    /// Any single-bit flip of the ciphertext is caught by the signature; with a signature
    /// recomputed over the flipped ciphertext (an attacker who knows the Token), decryption
    /// fails with a buffer / receive-id error, or, because CBC without a MAC is malleable,
    /// yields a message that differs from the original. It never returns the original
    /// message and never panics.
    #[test]
    fn ciphertext_bit_flips_are_rejected(msg in text(), bit in any::<usize>(), random in any::<[u8; 16]>()) {
        let key = EncodingAesKey::generate();
        let c = MsgCrypt::new("token", &key, ReceiveId::exact("wx5823bf96d3bd56c7"));
        let enc = c.encrypt_with_random(&random, msg.as_bytes(), "wx5823bf96d3bd56c7").unwrap();
        let sig = c.msg_signature("1409659813", "nonce", &enc);
        let mut raw = STANDARD.decode(&enc).unwrap();
        let byte = flip(&mut raw, bit);
        let tampered = STANDARD.encode(&raw);

        let err = c.verify_and_decrypt(sig.as_str(), "1409659813", "nonce", &tampered).unwrap_err();
        prop_assert_eq!(err, CryptoError::ValidateSignature);

        let resigned = c.msg_signature("1409659813", "nonce", &tampered);
        match c.verify_and_decrypt(resigned.as_str(), "1409659813", "nonce", &tampered) {
            Err(e) => prop_assert!(
                matches!(e, CryptoError::IllegalBuffer(_) | CryptoError::ValidateReceiveId | CryptoError::DecryptAes(_)),
                "unexpected error {:?}", e
            ),
            Ok(out) => {
                // Flipping ciphertext byte b garbles plaintext block b/16 and flips the same
                // bit of plaintext byte b+16. Acceptance is only possible when that byte is a
                // message byte (not the length field, receive id or padding).
                let p = byte + 16;
                prop_assert!((20..20 + msg.len()).contains(&p), "flip at {} accepted", byte);
                prop_assert_eq!(out.message().len(), msg.len());
                prop_assert_ne!(out.message()[p - 20], msg.as_bytes()[p - 20]);
            }
        }
    }

    #[test]
    fn signature_bit_flips_are_rejected(msg in text(), bit in 0usize..160) {
        let c = crypt(A_TOKEN, A_KEY, A_CORP);
        let enc = c.encrypt(msg.as_bytes(), A_CORP).unwrap();
        let sig = c.msg_signature("1409659813", "nonce", &enc);
        let mut digest = hex::decode(sig.as_str()).unwrap();
        flip(&mut digest, bit);
        let forged = hex::encode(digest);
        let err = c.verify_and_decrypt(&forged, "1409659813", "nonce", &enc).unwrap_err();
        prop_assert_eq!(err, CryptoError::ValidateSignature);
        // Also through the envelope helpers (signature check on).
        let reply = c.encrypt_reply(EnvelopeFormat::Xml, msg.as_bytes(), A_CORP, "1", "n").unwrap();
        let parsed = ReplyEnvelope::parse(reply.as_bytes()).unwrap();
        let forged_reply = write_reply(EnvelopeFormat::Xml, &parsed.encrypt, &forged, "1", "n");
        prop_assert_eq!(c.decrypt_reply(forged_reply.as_bytes()).unwrap_err(), CryptoError::ValidateSignature);
    }

    /// Garbage in any input position is an error, never a panic.
    #[test]
    fn arbitrary_inputs_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400),
                                    s in ".{0,200}", query in "[a-z_=&%+0-9A-F]{0,120}") {
        let c = crypt(A_TOKEN, A_KEY, A_CORP);
        let _ = c.decrypt(&s);
        let _ = c.decrypt_vec(body.clone());
        let _ = c.decrypt(&STANDARD.encode(&body));
        let _ = InboundEnvelope::parse(&body);
        let _ = ReplyEnvelope::parse(&body);
        let _ = c.decrypt_reply(s.as_bytes());
        if let Ok(q) = CallbackQuery::parse(&query) {
            let _ = c.decrypt_callback(&q, &body);
            let _ = c.verify_wecom_url(&q);
            let _ = verify_oa_url(A_TOKEN, &q);
        }
        let _ = EncodingAesKey::parse(&s);
        let _ = decrypt_mini_program_data(G_APP, G_SESSION_KEY, &STANDARD.encode(&body), G_IV);
        let _ = decrypt_mini_program_data(G_APP, &s, &s, &s);
    }

    #[test]
    fn signatures_verify_exactly_their_inputs(token in "[a-zA-Z0-9]{3,32}", ts in "[0-9]{1,12}",
                                              nonce in "[a-zA-Z0-9]{1,16}", other in "[a-zA-Z0-9]{1,16}") {
        let sig = signature(&token, &ts, &nonce);
        prop_assert!(verify_signature(&token, &ts, &nonce, sig.as_str()).is_ok());
        // Order of the inputs does not matter (they are sorted), content does.
        prop_assert_eq!(signature(&nonce, &token, &ts), sig);
        if other != nonce {
            prop_assert!(verify_signature(&token, &ts, &other, sig.as_str()).is_err());
        }
    }
}
