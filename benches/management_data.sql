-- Synthetic archive content for benches/management.sh, written straight into a database
-- that `pacs migrate` has just created (PostgreSQL), the way the archive's own ingest
-- writes it (crates/pacs-persistence/src/ingest.rs): patients, studies, series,
-- instances (with their DICOM JSON header, storage key, fingerprint, frame index) and
-- the study event log (STUDY_CREATED, then INSTANCE_STORED per instance, ids in commit
-- order). There are no files behind the instances: count, QIDO and studyEvents read the
-- index only (WADO of these instances would fail).
--
--   psql -v n_default=100000 -v n_other=10000 -v start="'2025-11-01'" -f management_data.sql
--
-- Two tenants, "default" (n_default studies) and "other" (n_other), interleaved in time:
-- studies received over 365 days from :start (ids follow reception order), ~2.5 studies
-- per patient, a modality mix (CT 30 %, MR 20 %, CR 15 %, DX 10 %, US 10 %, MG 5 %,
-- PET-CT 5 %, XA 5 %) with realistic object sizes (CT 512x512x16 bit ... MG 3328x2560),
-- the modality's calling AET and station name (5 % of studies from FEED_OLDPACS, 2 % from
-- UPLOAD_WEB without station, 3 % without station), 8 % with a later SR series from
-- WORKSTATION_1 / RADWS1. Deterministic: every choice is a hash of the study's key.
\set ON_ERROR_STOP on
set client_min_messages = warning;
set work_mem = '256MB';
set maintenance_work_mem = '512MB';
set synchronous_commit = off;
set jit = off;  -- the planner overestimates unanalysed temp tables: LLVM compiles would take seconds
\timing off

-- uniform [0,1) from (key, salt), stable across runs and machines
create function pg_temp.u(k bigint, salt int) returns float8 language sql immutable as
$$ select (hashint8(k * 1000003 + salt) & 2147483647)::float8 / 2147483648.0 $$;
-- one element of an array, chosen by (key, salt)
create function pg_temp.pick(a text[], k bigint, salt int) returns text language sql immutable as
$$ select a[1 + floor(pg_temp.u(k, salt) * cardinality(a))::int] $$;
-- an integer in [lo, hi]
create function pg_temp.rint(lo int, hi int, k bigint, salt int) returns int language sql immutable as
$$ select lo + floor(pg_temp.u(k, salt) * (hi - lo + 1))::int $$;
-- DICOM JSON attribute with one string value (absent value: no Value)
create function pg_temp.a(vr text, v text) returns jsonb language sql immutable as
$$ select case when v is null or v = '' then jsonb_build_object('vr', vr)
               else jsonb_build_object('vr', vr, 'Value', jsonb_build_array(v)) end $$;
create function pg_temp.pn(v text) returns jsonb language sql immutable as
$$ select case when v is null or v = '' then jsonb_build_object('vr', 'PN')
               else jsonb_build_object('vr', 'PN', 'Value', jsonb_build_array(jsonb_build_object('Alphabetic', v))) end $$;

create temp table kind (
  kind text primary key, lo float8, hi float8, modality text, sop_class text,
  nrows int, ncols int, bpp int, fmin int, fmax int, smin int, smax int, imin int, imax int,
  aets text[], stations text[], body text, descr text[], sdescr text[]
);
insert into kind values
 ('CT', 0.00, 0.30, 'CT', '1.2.840.10008.5.1.4.1.1.2',     512,  512, 2,  1,  1, 1, 4, 1, 6,
  '{CT_SCANNER1,CT_SCANNER1,CT_SCANNER2}', '{CT01,CT02,ER-CT}', 'CHEST',
  '{"CT CHEST W/O CONTRAST","CT ABDOMEN PELVIS","CT HEAD","CT ANGIO"}', '{"AX 5mm","COR 3mm","SAG 3mm","SCOUT"}'),
 ('MR', 0.30, 0.50, 'MR', '1.2.840.10008.5.1.4.1.1.4',     256,  256, 2,  1,  1, 3, 6, 1, 5,
  '{MR_3T,MR_15T}', '{MR01,MR02}', 'BRAIN',
  '{"MR BRAIN","MR KNEE LEFT","MR SPINE LUMBAR"}', '{"T1 SAG","T2 AX","FLAIR","DWI","T1 POST"}'),
 ('CR', 0.50, 0.65, 'CR', '1.2.840.10008.5.1.4.1.1.1',    2500, 2048, 2,  1,  1, 1, 2, 1, 2,
  '{CR_ER}', '{XRAY-A}', 'CHEST', '{"XR CHEST 2 VIEWS","XR HAND"}', '{"PA","LAT"}'),
 ('DX', 0.65, 0.75, 'DX', '1.2.840.10008.5.1.4.1.1.1.1',  2048, 2048, 2,  1,  1, 1, 2, 1, 1,
  '{DX_ROOM1,DX_ROOM2}', '{XRAY-B,XRAY-C}', 'KNEE', '{"DX CHEST","DX KNEE"}', '{"AP","LAT"}'),
 ('US', 0.75, 0.85, 'US', '1.2.840.10008.5.1.4.1.1.6.1',   480,  640, 3,  4, 12, 1, 1, 1, 4,
  '{US_CARDIO,US_GENERAL}', '{USROOM3,USROOM4}', 'ABDOMEN', '{"US ABDOMEN","ECHO"}', '{"CINE"}'),
 ('MG', 0.85, 0.90, 'MG', '1.2.840.10008.5.1.4.1.1.1.2',  3328, 2560, 2,  1,  1, 1, 1, 4, 4,
  '{MG_SENO}', '{MG01}', 'BREAST', '{"MG SCREENING BILATERAL"}', '{"R CC / L CC / R MLO / L MLO"}'),
 ('PT', 0.90, 0.95, 'PT', '1.2.840.10008.5.1.4.1.1.128',   128,  128, 2,  1,  1, 2, 2, 2, 6,
  '{PETCT_1}', '{PETCT01}', 'WHOLEBODY', '{"PET-CT WHOLE BODY"}', '{"PET AC","CT AC"}'),
 ('XA', 0.95, 1.01, 'XA', '1.2.840.10008.5.1.4.1.1.12.1',  512,  512, 1, 15, 60, 1, 3, 1, 2,
  '{XA_CATH}', '{CATHLAB1}', 'HEART', '{"XA CORONARY"}', '{"LAO 30","RAO 30"}');

-- one row per study: key = tenant_no * 10^8 + k
create temp table g_study as
with t(tenant, tno, n) as (values ('default', 1, :n_default), ('other', 2, :n_other)),
s as (
  select t.tenant, t.tno, t.n, k, t.tno::bigint * 100000000 + k as key
  from t, generate_series(1, t.n) k
)
select s.tenant, s.tno, s.k, s.key, kd.kind,
       :start::timestamp + ((s.k - 1) + pg_temp.u(s.key, 3)) / s.n * interval '365 days' as received_at,
       floor(pg_temp.u(s.key, 4) * greatest(1, s.n * 2 / 5))::int + 1 as p,
       case when pg_temp.u(s.key, 10) < 0.05 then 'FEED_OLDPACS'
            when pg_temp.u(s.key, 10) < 0.07 then 'UPLOAD_WEB'
            else pg_temp.pick(kd.aets, s.key, 11) end as aet,
       case when pg_temp.u(s.key, 10) between 0.05 and 0.07 or pg_temp.u(s.key, 13) < 0.03 then null
            else pg_temp.pick(kd.stations, s.key, 12) end as station,
       case when kd.kind = 'PT' then 2 else pg_temp.rint(kd.smin, kd.smax, s.key, 14) end as nseries,
       pg_temp.u(s.key, 15) < 0.08 as with_sr,
       '1.2.826.0.1.3680043.8.498.' || s.tno || '.' || s.k as study_uid,
       'ACC' || s.tno || lpad(s.k::text, 8, '0') as accession,
       'S' || s.k as study_id,
       pg_temp.pick(kd.descr, s.key, 16) as descr,
       pg_temp.pick('{"HOUSE^GREGORY","GREY^MEREDITH","WHO^JOHN","","STRANGE^STEPHEN"}'::text[], s.key, 17) as referring
from s join kind kd on pg_temp.u(s.key, 2) >= kd.lo and pg_temp.u(s.key, 2) < kd.hi;

-- migrated studies (FEED_OLDPACS) were acquired years before they were received
alter table g_study add column study_date text, add column study_time text;
update g_study set
  study_date = to_char(received_at - case when aet = 'FEED_OLDPACS' then pg_temp.rint(400, 3000, key, 18) * interval '1 day'
                                          else pg_temp.rint(0, 50, key, 18) * interval '1 minute' end, 'YYYYMMDD'),
  study_time = to_char(received_at - pg_temp.rint(0, 50, key, 18) * interval '1 minute', 'HH24MISS');

-- series: the study's modality series, then the optional SR from the reading workstation
create temp table g_series as
select st.tenant, st.key, j,
       case when st.kind = 'PT' and j = 1 then 'CT' else kd.modality end as modality,
       case when st.kind = 'PT' and j = 1 then '1.2.840.10008.5.1.4.1.1.2' else kd.sop_class end as sop_class,
       case when st.kind = 'PT' and j = 1 then 512 else kd.nrows end as nrows,
       case when st.kind = 'PT' and j = 1 then 512 else kd.ncols end as ncols,
       kd.bpp,
       pg_temp.rint(kd.fmin, kd.fmax, st.key * 16 + j, 20) as frames,
       pg_temp.rint(kd.imin, kd.imax, st.key * 16 + j, 21) as ninst,
       st.aet, st.station, kd.body,
       pg_temp.pick(kd.sdescr, st.key * 16 + j, 22) as sdescr,
       st.received_at + (j - 1) * interval '30 seconds' as received_at
from g_study st join kind kd using (kind), generate_series(1, st.nseries) j
union all
select st.tenant, st.key, st.nseries + 1, 'SR', '1.2.840.10008.5.1.4.1.1.88.22', null, null, null, 0, 1,
       'WORKSTATION_1', 'RADWS1', null, 'REPORT', st.received_at + interval '2 hours'
from g_study st where st.with_sr;
alter table g_series add column series_uid text;
update g_series s set series_uid = st.study_uid || '.' || s.j from g_study st where st.key = s.key;

create temp table g_inst as
select s.tenant, s.key, s.j, i, s.series_uid || '.' || i as sop_uid, s.sop_class, s.modality,
       s.nrows, s.ncols, s.frames,
       case when s.modality = 'SR' then null else s.nrows::bigint * s.ncols * s.bpp end as frame_len,
       case when s.modality = 'SR' then pg_temp.rint(8000, 30000, s.key * 16 + s.j, 23)
            else 1800 + s.nrows::bigint * s.ncols * s.bpp * s.frames end as size_bytes,
       s.received_at + (i - 1) * interval '200 milliseconds' as received_at
from g_series s, generate_series(1, s.ninst) i;

-- Fresh tables have no statistics: without these the planner picks nested loops (minutes).
analyze g_study; analyze g_series; analyze g_inst;

-- ----------------------------------------------------------------- patients
insert into patients (tenant, patient_id, issuer, patient_name, patient_name_lc, birth_date, sex, created_at, updated_at)
select tenant, pid, '', name, lower(name), birth, sex, first, first
from (
  select st.tenant, 'PID' || lpad(st.p::text, 7, '0') as pid,
         pg_temp.pick('{MUELLER,SCHMIDT,SCHNEIDER,FISCHER,WEBER,MEYER,WAGNER,BECKER,SCHULZ,HOFFMANN,KOCH,RICHTER,KLEIN,WOLF,NEUMANN,ZIMMERMANN,O''BRIEN,"DE LA CRUZ",NGUYEN,ÅSTRÖM}'::text[], st.tno * 10000000 + st.p, 30)
           || '^' || pg_temp.pick('{ANNA,BEN,CLARA,DAVID,EVA,FELIX,GRETA,HUGO,IDA,JONAS,KARLA,LEON,MIA,NOAH,OLGA,PAUL,RUTH,SVEN,TILDA,URS}'::text[], st.tno * 10000000 + st.p, 31) as name,
         to_char(date '1930-01-01' + pg_temp.rint(0, 32000, st.tno * 10000000 + st.p, 32), 'YYYYMMDD') as birth,
         case when pg_temp.u(st.tno * 10000000 + st.p, 33) < 0.5 then 'F' else 'M' end as sex,
         min(st.received_at) as first
  from g_study st group by st.tenant, st.tno, st.p
) x order by first;
analyze patients;

-- ----------------------------------------------------------------- studies (sizes and counts of what follows)
insert into studies (tenant, study_uid, patient_fk, study_date, study_time, accession_number, study_id,
                     study_description, referring_physician, modalities, num_series, num_instances,
                     size_bytes, received_at, updated_at)
select st.tenant, st.study_uid, p.id, st.study_date, st.study_time, st.accession, st.study_id, st.descr,
       nullif(st.referring, ''), agg.modalities, agg.nser, agg.ninst, agg.bytes, st.received_at, agg.last
from g_study st
join patients p on p.tenant = st.tenant and p.patient_id = 'PID' || lpad(st.p::text, 7, '0') and p.issuer = ''
join (select i.key, count(distinct i.j) as nser, count(*) as ninst, sum(i.size_bytes) as bytes,
             max(i.received_at) as last, string_agg(distinct i.modality, '\' order by i.modality) as modalities
      from g_inst i group by i.key) agg on agg.key = st.key
order by st.received_at, st.key;
analyze studies;

insert into series (tenant, study_fk, series_uid, modality, series_number, series_description, body_part,
                    station_name, calling_aet, num_instances, size_bytes, received_at, updated_at)
select s.tenant, sd.id, s.series_uid, s.modality, s.j, s.sdescr, s.body, s.station, s.aet,
       agg.n, agg.bytes, s.received_at, agg.last
from g_series s
join g_study st on st.key = s.key
join studies sd on sd.tenant = s.tenant and sd.study_uid = st.study_uid and sd.deprecation_fk is null
join (select key, j, count(*) as n, sum(size_bytes) as bytes, max(received_at) as last from g_inst group by key, j) agg
  on agg.key = s.key and agg.j = s.j
order by s.received_at, s.key, s.j;
analyze series;

-- ----------------------------------------------------------------- instances
insert into instances (tenant, series_fk, sop_uid, sop_class_uid, transfer_syntax, instance_number,
                       number_of_frames, pixel_rows, pixel_columns, content_date, content_time,
                       acquisition_time, image_type, medium, storage_key, size_bytes, sha1,
                       ingest_fingerprint, pixel_data_offset, header_json, received_at, frame_index)
select i.tenant, se.id, i.sop_uid, i.sop_class, '1.2.840.10008.1.2.1', i.i,
       case when i.frames > 1 then i.frames end, i.nrows, i.ncols, st.study_date, st.study_time,
       case when i.modality <> 'SR' then st.study_time end,
       case when i.modality <> 'SR' then 'ORIGINAL\PRIMARY' end,
       'local',
       i.tenant || '/' || st.study_uid || '/' || gs.series_uid || '/' || i.sop_uid || '.' || left(h.sha1, 16),
       i.size_bytes, h.sha1,
       concat_ws(chr(31), p.patient_id, p.issuer, p.patient_name, p.birth_date, p.sex, st.study_uid,
                 st.accession, st.study_date, st.study_time, st.descr, st.referring),
       case when i.frame_len is not null then 1800 - 12 end,
       (jsonb_build_object(
          '00080016', pg_temp.a('UI', i.sop_class), '00080018', pg_temp.a('UI', i.sop_uid),
          '00080020', pg_temp.a('DA', st.study_date), '00080030', pg_temp.a('TM', st.study_time),
          '00080050', pg_temp.a('SH', st.accession), '00080060', pg_temp.a('CS', i.modality),
          '00080080', pg_temp.a('LO', 'General Hospital'), '00080090', pg_temp.pn(st.referring),
          '00081010', pg_temp.a('SH', gs.station), '00081030', pg_temp.a('LO', st.descr),
          '0008103E', pg_temp.a('LO', gs.sdescr), '00100010', pg_temp.pn(p.patient_name),
          '00100020', pg_temp.a('LO', p.patient_id), '00100030', pg_temp.a('DA', p.birth_date),
          '00100040', pg_temp.a('CS', p.sex), '00180015', pg_temp.a('CS', gs.body),
          '0020000D', pg_temp.a('UI', st.study_uid), '0020000E', pg_temp.a('UI', gs.series_uid),
          '00200010', pg_temp.a('SH', st.study_id), '00200011', pg_temp.a('IS', gs.j::text),
          '00200013', pg_temp.a('IS', i.i::text))
        || case when i.frame_len is null then '{}'::jsonb else jsonb_build_object(
          '00080008', jsonb_build_object('vr', 'CS', 'Value', jsonb_build_array('ORIGINAL', 'PRIMARY')),
          '00280002', jsonb_build_object('vr', 'US', 'Value', jsonb_build_array(case when i.modality = 'US' then 3 else 1 end)),
          '00280004', pg_temp.a('CS', case when i.modality = 'US' then 'RGB' else 'MONOCHROME2' end),
          '00280010', jsonb_build_object('vr', 'US', 'Value', jsonb_build_array(i.nrows)),
          '00280011', jsonb_build_object('vr', 'US', 'Value', jsonb_build_array(i.ncols)),
          '00280100', jsonb_build_object('vr', 'US', 'Value', jsonb_build_array(case when i.modality in ('US', 'XA') then 8 else 16 end)))
          || case when i.frames > 1 then jsonb_build_object('00280008', pg_temp.a('IS', i.frames::text)) else '{}'::jsonb end
        end)::text,
       i.received_at,
       case when i.frame_len is not null then
         (select string_agg((1800 + (f - 1) * i.frame_len) || ':' || i.frame_len, ',' order by f)
          from generate_series(1, i.frames) f) end
from g_inst i
join g_study st on st.key = i.key
join g_series gs on gs.key = i.key and gs.j = i.j
join patients p on p.tenant = st.tenant and p.patient_id = 'PID' || lpad(st.p::text, 7, '0') and p.issuer = ''
join series se on se.tenant = i.tenant and se.series_uid = gs.series_uid and se.deprecation_fk is null
cross join lateral (select md5(i.sop_uid) || left(md5(i.sop_uid || '.'), 8) as sha1) h
order by i.received_at, i.key, i.j, i.i;

-- ----------------------------------------------------------------- the event log, in commit order
insert into study_events (tenant, event_type, study_uid, series_uid, patient_id, accession_number, details, occurred_at)
select tenant, event_type, study_uid, series_uid, patient_id, accession, details, at
from (
  select st.tenant, 'STUDY_CREATED' as event_type, st.study_uid, null as series_uid,
         'PID' || lpad(st.p::text, 7, '0') as patient_id, st.accession, '{}' as details,
         st.received_at as at, st.key, 0 as j, 0 as i
  from g_study st
  union all
  select i.tenant, 'INSTANCE_STORED', st.study_uid, gs.series_uid, 'PID' || lpad(st.p::text, 7, '0'), st.accession,
         '{"callingAet":"' || gs.aet || '","sopClassUid":"' || i.sop_class || '","sopInstanceUid":"' || i.sop_uid || '"}',
         i.received_at, i.key, i.j, i.i
  from g_inst i join g_study st on st.key = i.key join g_series gs on gs.key = i.key and gs.j = i.j
) e
order by at, key, j, i;

vacuum analyze patients;
vacuum analyze studies;
vacuum analyze series;
vacuum analyze instances;
vacuum analyze study_events;

select json_build_object(
  'patients', (select count(*) from patients),
  'studies', (select count(*) from studies),
  'series', (select count(*) from series),
  'instances', (select count(*) from instances),
  'events', (select count(*) from study_events),
  'studies_default', (select count(*) from studies where tenant = 'default'),
  'db_size', pg_size_pretty(pg_database_size(current_database())));
