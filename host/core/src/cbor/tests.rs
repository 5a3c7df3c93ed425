//! The rules of deterministic CBOR, references, projection and wrappers, byte by byte.

use super::*;
use crate::Key;

fn check(bytes: &[u8]) -> Result<Vec<Reference>, CborError> {
    validate(bytes, References::Allowed)
}

fn problem(bytes: &[u8]) -> String {
    check(bytes).unwrap_err().problem
}

#[test]
fn accepts_deterministic_values() {
    for bytes in [
        &[0x00][..],
        &[0x17],
        &[0x18, 0x18],
        &[0x19, 0x01, 0x00],
        &[0x38, 0x63],                                           // -100
        &[0x63, b'a', b'b', b'c'],                               // "abc"
        &[0x82, 0x01, 0xf5],                                     // [1, true]
        &[0xa2, 0x61, b'a', 0x01, 0x61, b'b', 0x02],             // {"a":1,"b":2}
        &[0xa2, 0x61, b'z', 0x01, 0x62, b'a', b'a', 0x02],       // length first: "z" < "aa"
        &[0xf9, 0x3e, 0x00],                                     // 1.5
        &[0xf9, 0x7e, 0x00],                                     // NaN
        &[0xfa, 0x47, 0xc3, 0x50, 0x00],                         // 100000.0 needs f32
        &[0xfb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a], // 0.1 needs f64
        &[0xc1, 0x1a, 0x51, 0x4b, 0x67, 0xb0],                   // other tags are fine
    ] {
        assert_eq!(check(bytes), Ok(vec![]), "{bytes:02x?}");
    }
}

#[test]
fn rejects_non_minimal_heads() {
    assert!(problem(&[0x18, 0x17]).contains("shortest"));
    assert!(problem(&[0x19, 0x00, 0xff]).contains("shortest"));
    assert!(problem(&[0x1a, 0x00, 0x00, 0xff, 0xff]).contains("shortest"));
    assert!(problem(&[0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).contains("shortest"));
    assert!(problem(&[0x78, 0x01, b'a']).contains("shortest"));
}

#[test]
fn rejects_indefinite_lengths_and_trailing_bytes() {
    assert!(problem(&[0x9f, 0x01, 0xff]).contains("indefinite"));
    assert!(problem(&[0x01, 0x02]).contains("trailing"));
    assert!(problem(&[0x82, 0x01]).contains("longer"));
    assert!(problem(&[0x62, b'a']).contains("ends early"));
    assert!(problem(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).contains("longer"));
}

#[test]
fn rejects_long_floats_and_odd_nans() {
    assert!(problem(&[0xfa, 0x3f, 0xc0, 0x00, 0x00]).contains("float")); // 1.5 as f32
    assert!(problem(&[0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]).contains("float")); // 1.5 as f64
    assert!(problem(&[0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]).contains("float")); // NaN as f64
    assert!(problem(&[0xf9, 0x7e, 0x01]).contains("NaN"));
}

#[test]
fn rejects_unsorted_duplicate_and_non_text_keys() {
    assert!(problem(&[0xa2, 0x61, b'b', 0x01, 0x61, b'a', 0x02]).contains("sorted"));
    assert!(problem(&[0xa2, 0x61, b'a', 0x01, 0x61, b'a', 0x02]).contains("sorted"));
    assert!(problem(&[0xa1, 0x01, 0x02]).contains("text"));
    assert!(problem(&[0x62, 0xff, 0xfe]).contains("UTF-8"));
}

#[test]
fn refuses_absurd_nesting() {
    let mut bytes = vec![0x81; MAX_DEPTH + 2];
    bytes.push(0x00);
    assert!(problem(&bytes).contains("nested"));
}

fn reference(key: u8) -> Vec<u8> {
    let mut bytes = vec![0xd9, 0x6a, 0x75, 0x58, 0x20];
    bytes.extend([key; 32]);
    bytes
}

#[test]
fn finds_references_and_splices_results() {
    // [ref(1), 7, [ref(2)]]
    let mut template = vec![0x83];
    template.extend(reference(1));
    template.push(0x07);
    template.push(0x81);
    template.extend(reference(2));
    let refs = check(&template).unwrap();
    assert_eq!(refs.len(), 2);
    assert_eq!((refs[0].key, refs[1].key), (Key([1; 32]), Key([2; 32])));

    let values: Vec<&[u8]> = refs
        .iter()
        .map(|r| if r.key == Key([1; 32]) { &[0xf5][..] } else { &[0x63, b'a', b'b', b'c'][..] })
        .collect();
    assert_eq!(spliced_len(&template, &refs, &values), 8);
    let input = splice(&template, &refs, &values);
    assert_eq!(input, [0x83, 0xf5, 0x07, 0x81, 0x63, b'a', b'b', b'c']);
    assert_eq!(validate(&input, References::Forbidden), Ok(vec![]));
}

#[test]
fn references_are_checked() {
    assert!(validate(&reference(3), References::Forbidden).unwrap_err().problem.contains("result"));
    let short = [0xd9, 0x6a, 0x75, 0x41, 0x00];
    assert!(problem(&short).contains("32-byte"));
}

#[test]
fn projects_parts_of_a_result_and_says_why_not() {
    // {"a": [1, [2, 3]], "b": "x"}
    let value = [0xa2, 0x61, b'a', 0x82, 0x01, 0x82, 0x02, 0x03, 0x61, b'b', 0x61, b'x'];
    let field = |name: &str| Step::Field(name.to_owned());
    assert_eq!(project(&value, &[]), Ok(&value[..]));
    assert_eq!(project(&value, &[field("b")]), Ok(&[0x61, b'x'][..]));
    assert_eq!(project(&value, &[field("a"), Step::Index(1), Step::Index(0)]), Ok(&[0x02][..]));
    assert_eq!(
        project(&value, &[field("a"), Step::Index(2)]),
        Err("the result.a has 2 elements, so there is no [2]".to_owned())
    );
    assert_eq!(project(&value, &[field("c")]), Err("the result has no field `c`".to_owned()));
    assert_eq!(
        project(&value, &[Step::Index(0)]),
        Err("the result is not an array, so there is no [0]".to_owned())
    );
}

#[test]
fn projecting_a_deeply_nested_value_is_an_error_not_a_crash() {
    // [[[[…]]]] 100,000 deep, as a stored result nobody validated could be.
    let mut value = vec![0x81; 100_000];
    value.push(0x00);
    for path in [vec![Step::Index(0)], vec![Step::Index(0); 3]] {
        let error = project(&value, &path).unwrap_err();
        assert!(error.contains("nested more than 256 levels"), "{error}");
    }
    // [x, 1] where x is the deep value: skipping past it is refused the same way.
    let mut pair = vec![0x82];
    pair.extend_from_slice(&value);
    pair.push(0x01);
    assert!(project(&pair, &[Step::Index(1)]).unwrap_err().contains("nested"));
    // As deep as a validated value may be still projects.
    let mut deepest = vec![0x81; MAX_DEPTH];
    deepest.push(0x07);
    assert_eq!(check(&deepest), Ok(vec![]));
    assert_eq!(project(&deepest, &[Step::Index(0)]), Ok(&deepest[1..]));
}

#[test]
fn a_reference_may_carry_a_path() {
    // tag 27253 [key, 1, "x"]
    let mut bytes = vec![0xd9, 0x6a, 0x75, 0x83, 0x58, 0x20];
    bytes.extend_from_slice(&[7; 32]);
    bytes.extend_from_slice(&[0x01, 0x61, b'x']);
    let found = check(&bytes).unwrap();
    assert_eq!(found[0].path, vec![Step::Index(1), Step::Field("x".into())]);
    assert_eq!((found[0].start, found[0].end), (0, bytes.len()));
    let at = bytes.len() - 3;
    bytes[at] = 0xf5; // `true` is not a step
    assert!(problem(&bytes).contains("index or a field name"));
}

#[test]
fn a_read_only_grant_is_keyed_by_its_content_and_a_writable_one_by_its_place() {
    // [tag 27257 ["data", "/d", false]]
    let template = [&[0x81, 0xd9, 0x6a, 0x79, 0x83, 0x64][..], b"data", &[0x62], b"/d", &[0xf4]].concat();
    let (_, wrappers) = validate_template(&template, References::Allowed).unwrap();
    let mut dir = wrappers[0].dir.clone().unwrap();
    // Untouched, the key form is what the builder wrote.
    assert_eq!(dir.key_form(), wrappers[0].key_form);
    dir.content = Some(Key([7; 32]));
    let read_only = dir.key_form();
    assert_eq!(read_only[..8], [0xd9, 0x6a, 0x79, 0x82, 0x62, b'/', b'd', 0x58]);
    // Another place with the same content: the same key form; other content: another.
    assert_eq!(DirInput { path: "elsewhere".into(), ..dir.clone() }.key_form(), read_only);
    assert_ne!(DirInput { content: Some(Key([8; 32])), ..dir.clone() }.key_form(), read_only);
    // Writable: by place, whatever the content.
    let writable = DirInput { writable: true, ..dir.clone() };
    assert_ne!(writable.key_form(), DirInput { path: "other".into(), ..writable.clone() }.key_form());
    assert_eq!(writable.key_form(), DirInput { content: None, ..writable.clone() }.key_form());
}

#[test]
fn wrapped_arguments_have_a_key_form_and_a_value() {
    // [NoHash(1), CustomHash(h'0102', "x")]
    let template = [0x82, 0xd9, 0x6a, 0x76, 0x01, 0xd9, 0x6a, 0x77, 0x82, 0x42, 0x01, 0x02, 0x61, b'x'];
    let (refs, wrappers) = validate_template(&template, References::Allowed).unwrap();
    assert!(refs.is_empty());
    let keyed = unwrap(&template, &wrappers, |w| &w.key_form);
    assert_eq!(keyed, [0x82, 0xd9, 0x6a, 0x76, 0xf6, 0xd9, 0x6a, 0x77, 0x42, 0x01, 0x02]);
    let input = unwrap(&template, &wrappers, |w| &w.value);
    assert_eq!(input, [0x82, 0x01, 0x61, b'x']);
    // Not in results, not nested, not around a task reference.
    assert!(validate(&template[1..5], References::Forbidden).is_err());
    assert!(problem(&[0xd9, 0x6a, 0x76, 0xd9, 0x6a, 0x76, 0x01]).contains("only wrap plain"));
    let mut around_reference = vec![0xd9, 0x6a, 0x76, 0xd9, 0x6a, 0x75, 0x58, 0x20];
    around_reference.extend_from_slice(&[0; 32]);
    assert!(problem(&around_reference).contains("cannot be inside NoHash"));
}

#[test]
fn heads_are_shortest() {
    let encoded = |major, arg| {
        let mut out = Vec::new();
        write_head(&mut out, major, arg);
        out
    };
    assert_eq!(encoded(4, 0), [0x80]);
    assert_eq!(encoded(4, 23), [0x97]);
    assert_eq!(encoded(4, 24), [0x98, 24]);
    assert_eq!(encoded(3, 255), [0x78, 255]);
    assert_eq!(encoded(3, 256), [0x79, 1, 0]);
    assert_eq!(encoded(5, 0x1_0000), [0xba, 0, 1, 0, 0]);
    assert_eq!(encoded(2, 1 << 32), [0x5b, 0, 0, 0, 1, 0, 0, 0, 0]);
}
