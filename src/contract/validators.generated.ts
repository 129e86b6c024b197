// Generated from contract/*.schema.json by contract/generate.ts: validators. Do not edit; run npx tsx contract/generate.ts.

// @ts-nocheck
import type { SchemaValidator } from './schema-validator.js';
import type * as types from './types.generated.js';

const schema31 = {"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://quantum-ess.invalid/contract/state.schema.json","title":"state.json, schema 2","description":"STATE_DIR/state.json as the controller writes it (contract/README.md section 3), and the \"state\" member of `ess_controller.sh status --json`. The version is the value of \"schema\": a reader refuses any other.","type":"object","required":["schema","active","flag_id","updated_at","last_activation","last_deactivation","last_tamper","activations_total","tamper_total","leftover_kills_total"],"properties":{"schema":{"const":2},"active":{"type":"boolean","description":"the controller's view when it last wrote the file: latched"},"flag_id":{"type":"string","description":"the id in the latch flag of the current activation; empty when none"},"updated_at":{"$ref":"#/$defs/timeOrNull"},"last_activation":{"oneOf":[{"type":"null"},{"type":"object","required":["id","source","actor","reason","trigger_time","all_stopped_time","latency_seconds","result","units"],"properties":{"id":{"type":"string"},"source":{"type":"string","description":"cli, systemd, path, alertmanager, drill, bench, ... (a plain name)"},"actor":{"type":"string"},"reason":{"type":"string"},"trigger_time":{"$ref":"#/$defs/time"},"all_stopped_time":{"$ref":"#/$defs/timeOrNull","description":"null when not every unit stopped"},"latency_seconds":{"$ref":"#/$defs/timeOrNull","description":"null when not every unit stopped"},"result":{"enum":["ok","degraded","failed","not-persisted","superseded"]},"scope":{"oneOf":[{"type":"null"},{"type":"string","pattern":"^[A-Za-z0-9:._,-]{1,600}$"}],"description":"the scope of the trip requests that started it (contract/README.md section 6): fleet, unscoped, host:NAME, group:NAME, invalid or unknown, comma-joined when a batch had several (at most 8, then ...); null for an activation that did not come from trip requests. Optional: files written before it existed lack it"},"units":{"type":"array","items":{"$ref":"#/$defs/unitOutcome"}}}}]},"last_deactivation":{"oneOf":[{"type":"null"},{"type":"object","required":["time","actor","reason","result","detail"],"properties":{"time":{"$ref":"#/$defs/time"},"actor":{"type":"string"},"reason":{"type":"string"},"result":{"type":"string"},"detail":{"type":"string"}}}]},"last_tamper":{"oneOf":[{"type":"null"},{"type":"object","required":["time","detail"],"properties":{"time":{"$ref":"#/$defs/time"},"detail":{"type":"string"}}}]},"activations_total":{"type":"object","description":"activations by source","additionalProperties":{"$ref":"#/$defs/count"}},"tamper_total":{"$ref":"#/$defs/count"},"leftover_kills_total":{"$ref":"#/$defs/count"}},"$defs":{"time":{"title":"a non-negative number","type":"number","minimum":0,"description":"Unix seconds, or seconds of a duration"},"timeOrNull":{"oneOf":[{"$ref":"#/$defs/time"},{"type":"null"}]},"count":{"title":"a count","type":"integer","minimum":0,"maximum":9007199254740991},"unitOutcome":{"type":"object","required":["unit","result","state","stop_seconds"],"properties":{"unit":{"title":"a unit name","type":"string","pattern":"^[A-Za-z0-9:_.@\\\\-]+$"},"result":{"enum":["stopped","killed","leftovers-killed","already-inactive","not-found","not-stopped","exempt"]},"state":{"type":"string","description":"the unit's ActiveState after the stop"},"stop_seconds":{"$ref":"#/$defs/timeOrNull","description":"null when it did not stop"}}}}};
const schema33 = {"title":"a non-negative number","type":"number","minimum":0,"description":"Unix seconds, or seconds of a duration"};
const schema38 = {"title":"a count","type":"integer","minimum":0,"maximum":9007199254740991};
const schema32 = {"oneOf":[{"$ref":"#/$defs/time"},{"type":"null"}]};

function validate21(data, {instancePath="", parentData, parentDataProperty, rootData=data, dynamicAnchors={}}={}){
let vErrors = null;
let errors = 0;
const evaluated0 = validate21.evaluated;
if(evaluated0.dynamicProps){
evaluated0.props = undefined;
}
if(evaluated0.dynamicItems){
evaluated0.items = undefined;
}
const _errs0 = errors;
let valid0 = false;
let passing0 = null;
const _errs1 = errors;
const _errs2 = errors;
if(errors === _errs2){
if((typeof data == "number") && (isFinite(data))){
if(data < 0 || isNaN(data)){
const err0 = {instancePath,schemaPath:"#/$defs/time/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema33,data};
if(vErrors === null){
vErrors = [err0];
}
else {
vErrors.push(err0);
}
errors++;
}
}
else {
const err1 = {instancePath,schemaPath:"#/$defs/time/type",keyword:"type",params:{type: "number"},message:"must be number",schema:schema33.type,parentSchema:schema33,data};
if(vErrors === null){
vErrors = [err1];
}
else {
vErrors.push(err1);
}
errors++;
}
}
var _valid0 = _errs1 === errors;
if(_valid0){
valid0 = true;
passing0 = 0;
}
const _errs4 = errors;
if(data !== null){
const err2 = {instancePath,schemaPath:"#/oneOf/1/type",keyword:"type",params:{type: "null"},message:"must be null",schema:schema32.oneOf[1].type,parentSchema:schema32.oneOf[1],data};
if(vErrors === null){
vErrors = [err2];
}
else {
vErrors.push(err2);
}
errors++;
}
var _valid0 = _errs4 === errors;
if(_valid0 && valid0){
valid0 = false;
passing0 = [passing0, 1];
}
else {
if(_valid0){
valid0 = true;
passing0 = 1;
}
}
if(!valid0){
const err3 = {instancePath,schemaPath:"#/oneOf",keyword:"oneOf",params:{passingSchemas: passing0},message:"must match exactly one schema in oneOf",schema:schema32.oneOf,parentSchema:schema32,data};
if(vErrors === null){
vErrors = [err3];
}
else {
vErrors.push(err3);
}
errors++;
validate21.errors = vErrors;
return false;
}
else {
errors = _errs0;
if(vErrors !== null){
if(_errs0){
vErrors.length = _errs0;
}
else {
vErrors = null;
}
}
}
validate21.errors = vErrors;
return errors === 0;
}
validate21.evaluated = {"dynamicProps":false,"dynamicItems":false};

const schema35 = {"type":"object","required":["unit","result","state","stop_seconds"],"properties":{"unit":{"title":"a unit name","type":"string","pattern":"^[A-Za-z0-9:_.@\\\\-]+$"},"result":{"enum":["stopped","killed","leftovers-killed","already-inactive","not-found","not-stopped","exempt"]},"state":{"type":"string","description":"the unit's ActiveState after the stop"},"stop_seconds":{"$ref":"#/$defs/timeOrNull","description":"null when it did not stop"}}};
const pattern5 = new RegExp("^[A-Za-z0-9:_.@\\\\-]+$", "u");

function validate25(data, {instancePath="", parentData, parentDataProperty, rootData=data, dynamicAnchors={}}={}){
let vErrors = null;
let errors = 0;
const evaluated0 = validate25.evaluated;
if(evaluated0.dynamicProps){
evaluated0.props = undefined;
}
if(evaluated0.dynamicItems){
evaluated0.items = undefined;
}
if(errors === 0){
if(data && typeof data == "object" && !Array.isArray(data)){
let missing0;
if(((((data.unit === undefined) && (missing0 = "unit")) || ((data.result === undefined) && (missing0 = "result"))) || ((data.state === undefined) && (missing0 = "state"))) || ((data.stop_seconds === undefined) && (missing0 = "stop_seconds"))){
validate25.errors = [{instancePath,schemaPath:"#/required",keyword:"required",params:{missingProperty: missing0},message:"must have required property '"+missing0+"'",schema:schema35.required,parentSchema:schema35,data}];
return false;
}
else {
if(data.unit !== undefined){
let data0 = data.unit;
const _errs1 = errors;
if(errors === _errs1){
if(typeof data0 === "string"){
if(!pattern5.test(data0)){
validate25.errors = [{instancePath:instancePath+"/unit",schemaPath:"#/properties/unit/pattern",keyword:"pattern",params:{pattern: "^[A-Za-z0-9:_.@\\\\-]+$"},message:"must match pattern \""+"^[A-Za-z0-9:_.@\\\\-]+$"+"\"",schema:"^[A-Za-z0-9:_.@\\\\-]+$",parentSchema:schema35.properties.unit,data:data0}];
return false;
}
}
else {
validate25.errors = [{instancePath:instancePath+"/unit",schemaPath:"#/properties/unit/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema35.properties.unit.type,parentSchema:schema35.properties.unit,data:data0}];
return false;
}
}
var valid0 = _errs1 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.result !== undefined){
let data1 = data.result;
const _errs3 = errors;
if(!(((((((data1 === "stopped") || (data1 === "killed")) || (data1 === "leftovers-killed")) || (data1 === "already-inactive")) || (data1 === "not-found")) || (data1 === "not-stopped")) || (data1 === "exempt"))){
validate25.errors = [{instancePath:instancePath+"/result",schemaPath:"#/properties/result/enum",keyword:"enum",params:{allowedValues: schema35.properties.result.enum},message:"must be equal to one of the allowed values",schema:schema35.properties.result.enum,parentSchema:schema35.properties.result,data:data1}];
return false;
}
var valid0 = _errs3 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.state !== undefined){
let data2 = data.state;
const _errs4 = errors;
if(typeof data2 !== "string"){
validate25.errors = [{instancePath:instancePath+"/state",schemaPath:"#/properties/state/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema35.properties.state.type,parentSchema:schema35.properties.state,data:data2}];
return false;
}
var valid0 = _errs4 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.stop_seconds !== undefined){
const _errs6 = errors;
if(!(validate21(data.stop_seconds, {instancePath:instancePath+"/stop_seconds",parentData:data,parentDataProperty:"stop_seconds",rootData,dynamicAnchors}))){
vErrors = vErrors === null ? validate21.errors : vErrors.concat(validate21.errors);
errors = vErrors.length;
}
var valid0 = _errs6 === errors;
}
else {
var valid0 = true;
}
}
}
}
}
}
else {
validate25.errors = [{instancePath,schemaPath:"#/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema35.type,parentSchema:schema35,data}];
return false;
}
}
validate25.errors = vErrors;
return errors === 0;
}
validate25.evaluated = {"props":{"unit":true,"result":true,"state":true,"stop_seconds":true},"dynamicProps":false,"dynamicItems":false};

const pattern4 = new RegExp("^[A-Za-z0-9:._,-]{1,600}$", "u");

function validate20(data, {instancePath="", parentData, parentDataProperty, rootData=data, dynamicAnchors={}}={}){
/*# sourceURL="https://quantum-ess.invalid/contract/state.schema.json" */;
let vErrors = null;
let errors = 0;
const evaluated0 = validate20.evaluated;
if(evaluated0.dynamicProps){
evaluated0.props = undefined;
}
if(evaluated0.dynamicItems){
evaluated0.items = undefined;
}
if(errors === 0){
if(data && typeof data == "object" && !Array.isArray(data)){
let missing0;
if(((((((((((data.schema === undefined) && (missing0 = "schema")) || ((data.active === undefined) && (missing0 = "active"))) || ((data.flag_id === undefined) && (missing0 = "flag_id"))) || ((data.updated_at === undefined) && (missing0 = "updated_at"))) || ((data.last_activation === undefined) && (missing0 = "last_activation"))) || ((data.last_deactivation === undefined) && (missing0 = "last_deactivation"))) || ((data.last_tamper === undefined) && (missing0 = "last_tamper"))) || ((data.activations_total === undefined) && (missing0 = "activations_total"))) || ((data.tamper_total === undefined) && (missing0 = "tamper_total"))) || ((data.leftover_kills_total === undefined) && (missing0 = "leftover_kills_total"))){
validate20.errors = [{instancePath,schemaPath:"#/required",keyword:"required",params:{missingProperty: missing0},message:"must have required property '"+missing0+"'",schema:schema31.required,parentSchema:schema31,data}];
return false;
}
else {
if(data.schema !== undefined){
let data0 = data.schema;
const _errs1 = errors;
if(2 !== data0){
validate20.errors = [{instancePath:instancePath+"/schema",schemaPath:"#/properties/schema/const",keyword:"const",params:{allowedValue: 2},message:"must be equal to constant",schema:2,parentSchema:schema31.properties.schema,data:data0}];
return false;
}
var valid0 = _errs1 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.active !== undefined){
let data1 = data.active;
const _errs2 = errors;
if(typeof data1 !== "boolean"){
validate20.errors = [{instancePath:instancePath+"/active",schemaPath:"#/properties/active/type",keyword:"type",params:{type: "boolean"},message:"must be boolean",schema:schema31.properties.active.type,parentSchema:schema31.properties.active,data:data1}];
return false;
}
var valid0 = _errs2 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.flag_id !== undefined){
let data2 = data.flag_id;
const _errs4 = errors;
if(typeof data2 !== "string"){
validate20.errors = [{instancePath:instancePath+"/flag_id",schemaPath:"#/properties/flag_id/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema31.properties.flag_id.type,parentSchema:schema31.properties.flag_id,data:data2}];
return false;
}
var valid0 = _errs4 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.updated_at !== undefined){
const _errs6 = errors;
if(!(validate21(data.updated_at, {instancePath:instancePath+"/updated_at",parentData:data,parentDataProperty:"updated_at",rootData,dynamicAnchors}))){
vErrors = vErrors === null ? validate21.errors : vErrors.concat(validate21.errors);
errors = vErrors.length;
}
var valid0 = _errs6 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.last_activation !== undefined){
let data4 = data.last_activation;
const _errs7 = errors;
const _errs8 = errors;
let valid1 = false;
let passing0 = null;
const _errs9 = errors;
if(data4 !== null){
const err0 = {instancePath:instancePath+"/last_activation",schemaPath:"#/properties/last_activation/oneOf/0/type",keyword:"type",params:{type: "null"},message:"must be null",schema:schema31.properties.last_activation.oneOf[0].type,parentSchema:schema31.properties.last_activation.oneOf[0],data:data4};
if(vErrors === null){
vErrors = [err0];
}
else {
vErrors.push(err0);
}
errors++;
}
var _valid0 = _errs9 === errors;
if(_valid0){
valid1 = true;
passing0 = 0;
}
const _errs11 = errors;
if(errors === _errs11){
if(data4 && typeof data4 == "object" && !Array.isArray(data4)){
let missing1;
if((((((((((data4.id === undefined) && (missing1 = "id")) || ((data4.source === undefined) && (missing1 = "source"))) || ((data4.actor === undefined) && (missing1 = "actor"))) || ((data4.reason === undefined) && (missing1 = "reason"))) || ((data4.trigger_time === undefined) && (missing1 = "trigger_time"))) || ((data4.all_stopped_time === undefined) && (missing1 = "all_stopped_time"))) || ((data4.latency_seconds === undefined) && (missing1 = "latency_seconds"))) || ((data4.result === undefined) && (missing1 = "result"))) || ((data4.units === undefined) && (missing1 = "units"))){
const err1 = {instancePath:instancePath+"/last_activation",schemaPath:"#/properties/last_activation/oneOf/1/required",keyword:"required",params:{missingProperty: missing1},message:"must have required property '"+missing1+"'",schema:schema31.properties.last_activation.oneOf[1].required,parentSchema:schema31.properties.last_activation.oneOf[1],data:data4};
if(vErrors === null){
vErrors = [err1];
}
else {
vErrors.push(err1);
}
errors++;
}
else {
if(data4.id !== undefined){
let data5 = data4.id;
const _errs13 = errors;
if(typeof data5 !== "string"){
const err2 = {instancePath:instancePath+"/last_activation/id",schemaPath:"#/properties/last_activation/oneOf/1/properties/id/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema31.properties.last_activation.oneOf[1].properties.id.type,parentSchema:schema31.properties.last_activation.oneOf[1].properties.id,data:data5};
if(vErrors === null){
vErrors = [err2];
}
else {
vErrors.push(err2);
}
errors++;
}
var valid2 = _errs13 === errors;
}
else {
var valid2 = true;
}
if(valid2){
if(data4.source !== undefined){
let data6 = data4.source;
const _errs15 = errors;
if(typeof data6 !== "string"){
const err3 = {instancePath:instancePath+"/last_activation/source",schemaPath:"#/properties/last_activation/oneOf/1/properties/source/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema31.properties.last_activation.oneOf[1].properties.source.type,parentSchema:schema31.properties.last_activation.oneOf[1].properties.source,data:data6};
if(vErrors === null){
vErrors = [err3];
}
else {
vErrors.push(err3);
}
errors++;
}
var valid2 = _errs15 === errors;
}
else {
var valid2 = true;
}
if(valid2){
if(data4.actor !== undefined){
let data7 = data4.actor;
const _errs17 = errors;
if(typeof data7 !== "string"){
const err4 = {instancePath:instancePath+"/last_activation/actor",schemaPath:"#/properties/last_activation/oneOf/1/properties/actor/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema31.properties.last_activation.oneOf[1].properties.actor.type,parentSchema:schema31.properties.last_activation.oneOf[1].properties.actor,data:data7};
if(vErrors === null){
vErrors = [err4];
}
else {
vErrors.push(err4);
}
errors++;
}
var valid2 = _errs17 === errors;
}
else {
var valid2 = true;
}
if(valid2){
if(data4.reason !== undefined){
let data8 = data4.reason;
const _errs19 = errors;
if(typeof data8 !== "string"){
const err5 = {instancePath:instancePath+"/last_activation/reason",schemaPath:"#/properties/last_activation/oneOf/1/properties/reason/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema31.properties.last_activation.oneOf[1].properties.reason.type,parentSchema:schema31.properties.last_activation.oneOf[1].properties.reason,data:data8};
if(vErrors === null){
vErrors = [err5];
}
else {
vErrors.push(err5);
}
errors++;
}
var valid2 = _errs19 === errors;
}
else {
var valid2 = true;
}
if(valid2){
if(data4.trigger_time !== undefined){
let data9 = data4.trigger_time;
const _errs21 = errors;
const _errs22 = errors;
if(errors === _errs22){
if((typeof data9 == "number") && (isFinite(data9))){
if(data9 < 0 || isNaN(data9)){
const err6 = {instancePath:instancePath+"/last_activation/trigger_time",schemaPath:"#/$defs/time/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema33,data:data9};
if(vErrors === null){
vErrors = [err6];
}
else {
vErrors.push(err6);
}
errors++;
}
}
else {
const err7 = {instancePath:instancePath+"/last_activation/trigger_time",schemaPath:"#/$defs/time/type",keyword:"type",params:{type: "number"},message:"must be number",schema:schema33.type,parentSchema:schema33,data:data9};
if(vErrors === null){
vErrors = [err7];
}
else {
vErrors.push(err7);
}
errors++;
}
}
var valid2 = _errs21 === errors;
}
else {
var valid2 = true;
}
if(valid2){
if(data4.all_stopped_time !== undefined){
const _errs24 = errors;
if(!(validate21(data4.all_stopped_time, {instancePath:instancePath+"/last_activation/all_stopped_time",parentData:data4,parentDataProperty:"all_stopped_time",rootData,dynamicAnchors}))){
vErrors = vErrors === null ? validate21.errors : vErrors.concat(validate21.errors);
errors = vErrors.length;
}
var valid2 = _errs24 === errors;
}
else {
var valid2 = true;
}
if(valid2){
if(data4.latency_seconds !== undefined){
const _errs25 = errors;
if(!(validate21(data4.latency_seconds, {instancePath:instancePath+"/last_activation/latency_seconds",parentData:data4,parentDataProperty:"latency_seconds",rootData,dynamicAnchors}))){
vErrors = vErrors === null ? validate21.errors : vErrors.concat(validate21.errors);
errors = vErrors.length;
}
var valid2 = _errs25 === errors;
}
else {
var valid2 = true;
}
if(valid2){
if(data4.result !== undefined){
let data12 = data4.result;
const _errs26 = errors;
if(!(((((data12 === "ok") || (data12 === "degraded")) || (data12 === "failed")) || (data12 === "not-persisted")) || (data12 === "superseded"))){
const err8 = {instancePath:instancePath+"/last_activation/result",schemaPath:"#/properties/last_activation/oneOf/1/properties/result/enum",keyword:"enum",params:{allowedValues: schema31.properties.last_activation.oneOf[1].properties.result.enum},message:"must be equal to one of the allowed values",schema:schema31.properties.last_activation.oneOf[1].properties.result.enum,parentSchema:schema31.properties.last_activation.oneOf[1].properties.result,data:data12};
if(vErrors === null){
vErrors = [err8];
}
else {
vErrors.push(err8);
}
errors++;
}
var valid2 = _errs26 === errors;
}
else {
var valid2 = true;
}
if(valid2){
if(data4.scope !== undefined){
let data13 = data4.scope;
const _errs27 = errors;
const _errs28 = errors;
let valid4 = false;
let passing1 = null;
const _errs29 = errors;
if(data13 !== null){
const err9 = {instancePath:instancePath+"/last_activation/scope",schemaPath:"#/properties/last_activation/oneOf/1/properties/scope/oneOf/0/type",keyword:"type",params:{type: "null"},message:"must be null",schema:schema31.properties.last_activation.oneOf[1].properties.scope.oneOf[0].type,parentSchema:schema31.properties.last_activation.oneOf[1].properties.scope.oneOf[0],data:data13};
if(vErrors === null){
vErrors = [err9];
}
else {
vErrors.push(err9);
}
errors++;
}
var _valid1 = _errs29 === errors;
if(_valid1){
valid4 = true;
passing1 = 0;
}
const _errs31 = errors;
if(errors === _errs31){
if(typeof data13 === "string"){
if(!pattern4.test(data13)){
const err10 = {instancePath:instancePath+"/last_activation/scope",schemaPath:"#/properties/last_activation/oneOf/1/properties/scope/oneOf/1/pattern",keyword:"pattern",params:{pattern: "^[A-Za-z0-9:._,-]{1,600}$"},message:"must match pattern \""+"^[A-Za-z0-9:._,-]{1,600}$"+"\"",schema:"^[A-Za-z0-9:._,-]{1,600}$",parentSchema:schema31.properties.last_activation.oneOf[1].properties.scope.oneOf[1],data:data13};
if(vErrors === null){
vErrors = [err10];
}
else {
vErrors.push(err10);
}
errors++;
}
}
else {
const err11 = {instancePath:instancePath+"/last_activation/scope",schemaPath:"#/properties/last_activation/oneOf/1/properties/scope/oneOf/1/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema31.properties.last_activation.oneOf[1].properties.scope.oneOf[1].type,parentSchema:schema31.properties.last_activation.oneOf[1].properties.scope.oneOf[1],data:data13};
if(vErrors === null){
vErrors = [err11];
}
else {
vErrors.push(err11);
}
errors++;
}
}
var _valid1 = _errs31 === errors;
if(_valid1 && valid4){
valid4 = false;
passing1 = [passing1, 1];
}
else {
if(_valid1){
valid4 = true;
passing1 = 1;
}
}
if(!valid4){
const err12 = {instancePath:instancePath+"/last_activation/scope",schemaPath:"#/properties/last_activation/oneOf/1/properties/scope/oneOf",keyword:"oneOf",params:{passingSchemas: passing1},message:"must match exactly one schema in oneOf",schema:schema31.properties.last_activation.oneOf[1].properties.scope.oneOf,parentSchema:schema31.properties.last_activation.oneOf[1].properties.scope,data:data13};
if(vErrors === null){
vErrors = [err12];
}
else {
vErrors.push(err12);
}
errors++;
}
else {
errors = _errs28;
if(vErrors !== null){
if(_errs28){
vErrors.length = _errs28;
}
else {
vErrors = null;
}
}
}
var valid2 = _errs27 === errors;
}
else {
var valid2 = true;
}
if(valid2){
if(data4.units !== undefined){
let data14 = data4.units;
const _errs33 = errors;
if(errors === _errs33){
if(Array.isArray(data14)){
var valid5 = true;
const len0 = data14.length;
for(let i0=0; i0<len0; i0++){
const _errs35 = errors;
if(!(validate25(data14[i0], {instancePath:instancePath+"/last_activation/units/" + i0,parentData:data14,parentDataProperty:i0,rootData,dynamicAnchors}))){
vErrors = vErrors === null ? validate25.errors : vErrors.concat(validate25.errors);
errors = vErrors.length;
}
var valid5 = _errs35 === errors;
if(!valid5){
break;
}
}
}
else {
const err13 = {instancePath:instancePath+"/last_activation/units",schemaPath:"#/properties/last_activation/oneOf/1/properties/units/type",keyword:"type",params:{type: "array"},message:"must be array",schema:schema31.properties.last_activation.oneOf[1].properties.units.type,parentSchema:schema31.properties.last_activation.oneOf[1].properties.units,data:data14};
if(vErrors === null){
vErrors = [err13];
}
else {
vErrors.push(err13);
}
errors++;
}
}
var valid2 = _errs33 === errors;
}
else {
var valid2 = true;
}
}
}
}
}
}
}
}
}
}
}
}
else {
const err14 = {instancePath:instancePath+"/last_activation",schemaPath:"#/properties/last_activation/oneOf/1/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema31.properties.last_activation.oneOf[1].type,parentSchema:schema31.properties.last_activation.oneOf[1],data:data4};
if(vErrors === null){
vErrors = [err14];
}
else {
vErrors.push(err14);
}
errors++;
}
}
var _valid0 = _errs11 === errors;
if(_valid0 && valid1){
valid1 = false;
passing0 = [passing0, 1];
}
else {
if(_valid0){
valid1 = true;
passing0 = 1;
var props0 = {};
props0.id = true;
props0.source = true;
props0.actor = true;
props0.reason = true;
props0.trigger_time = true;
props0.all_stopped_time = true;
props0.latency_seconds = true;
props0.result = true;
props0.scope = true;
props0.units = true;
}
}
if(!valid1){
const err15 = {instancePath:instancePath+"/last_activation",schemaPath:"#/properties/last_activation/oneOf",keyword:"oneOf",params:{passingSchemas: passing0},message:"must match exactly one schema in oneOf",schema:schema31.properties.last_activation.oneOf,parentSchema:schema31.properties.last_activation,data:data4};
if(vErrors === null){
vErrors = [err15];
}
else {
vErrors.push(err15);
}
errors++;
validate20.errors = vErrors;
return false;
}
else {
errors = _errs8;
if(vErrors !== null){
if(_errs8){
vErrors.length = _errs8;
}
else {
vErrors = null;
}
}
}
var valid0 = _errs7 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.last_deactivation !== undefined){
let data16 = data.last_deactivation;
const _errs36 = errors;
const _errs37 = errors;
let valid6 = false;
let passing2 = null;
const _errs38 = errors;
if(data16 !== null){
const err16 = {instancePath:instancePath+"/last_deactivation",schemaPath:"#/properties/last_deactivation/oneOf/0/type",keyword:"type",params:{type: "null"},message:"must be null",schema:schema31.properties.last_deactivation.oneOf[0].type,parentSchema:schema31.properties.last_deactivation.oneOf[0],data:data16};
if(vErrors === null){
vErrors = [err16];
}
else {
vErrors.push(err16);
}
errors++;
}
var _valid2 = _errs38 === errors;
if(_valid2){
valid6 = true;
passing2 = 0;
}
const _errs40 = errors;
if(errors === _errs40){
if(data16 && typeof data16 == "object" && !Array.isArray(data16)){
let missing2;
if((((((data16.time === undefined) && (missing2 = "time")) || ((data16.actor === undefined) && (missing2 = "actor"))) || ((data16.reason === undefined) && (missing2 = "reason"))) || ((data16.result === undefined) && (missing2 = "result"))) || ((data16.detail === undefined) && (missing2 = "detail"))){
const err17 = {instancePath:instancePath+"/last_deactivation",schemaPath:"#/properties/last_deactivation/oneOf/1/required",keyword:"required",params:{missingProperty: missing2},message:"must have required property '"+missing2+"'",schema:schema31.properties.last_deactivation.oneOf[1].required,parentSchema:schema31.properties.last_deactivation.oneOf[1],data:data16};
if(vErrors === null){
vErrors = [err17];
}
else {
vErrors.push(err17);
}
errors++;
}
else {
if(data16.time !== undefined){
let data17 = data16.time;
const _errs42 = errors;
const _errs43 = errors;
if(errors === _errs43){
if((typeof data17 == "number") && (isFinite(data17))){
if(data17 < 0 || isNaN(data17)){
const err18 = {instancePath:instancePath+"/last_deactivation/time",schemaPath:"#/$defs/time/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema33,data:data17};
if(vErrors === null){
vErrors = [err18];
}
else {
vErrors.push(err18);
}
errors++;
}
}
else {
const err19 = {instancePath:instancePath+"/last_deactivation/time",schemaPath:"#/$defs/time/type",keyword:"type",params:{type: "number"},message:"must be number",schema:schema33.type,parentSchema:schema33,data:data17};
if(vErrors === null){
vErrors = [err19];
}
else {
vErrors.push(err19);
}
errors++;
}
}
var valid7 = _errs42 === errors;
}
else {
var valid7 = true;
}
if(valid7){
if(data16.actor !== undefined){
let data18 = data16.actor;
const _errs45 = errors;
if(typeof data18 !== "string"){
const err20 = {instancePath:instancePath+"/last_deactivation/actor",schemaPath:"#/properties/last_deactivation/oneOf/1/properties/actor/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema31.properties.last_deactivation.oneOf[1].properties.actor.type,parentSchema:schema31.properties.last_deactivation.oneOf[1].properties.actor,data:data18};
if(vErrors === null){
vErrors = [err20];
}
else {
vErrors.push(err20);
}
errors++;
}
var valid7 = _errs45 === errors;
}
else {
var valid7 = true;
}
if(valid7){
if(data16.reason !== undefined){
let data19 = data16.reason;
const _errs47 = errors;
if(typeof data19 !== "string"){
const err21 = {instancePath:instancePath+"/last_deactivation/reason",schemaPath:"#/properties/last_deactivation/oneOf/1/properties/reason/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema31.properties.last_deactivation.oneOf[1].properties.reason.type,parentSchema:schema31.properties.last_deactivation.oneOf[1].properties.reason,data:data19};
if(vErrors === null){
vErrors = [err21];
}
else {
vErrors.push(err21);
}
errors++;
}
var valid7 = _errs47 === errors;
}
else {
var valid7 = true;
}
if(valid7){
if(data16.result !== undefined){
let data20 = data16.result;
const _errs49 = errors;
if(typeof data20 !== "string"){
const err22 = {instancePath:instancePath+"/last_deactivation/result",schemaPath:"#/properties/last_deactivation/oneOf/1/properties/result/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema31.properties.last_deactivation.oneOf[1].properties.result.type,parentSchema:schema31.properties.last_deactivation.oneOf[1].properties.result,data:data20};
if(vErrors === null){
vErrors = [err22];
}
else {
vErrors.push(err22);
}
errors++;
}
var valid7 = _errs49 === errors;
}
else {
var valid7 = true;
}
if(valid7){
if(data16.detail !== undefined){
let data21 = data16.detail;
const _errs51 = errors;
if(typeof data21 !== "string"){
const err23 = {instancePath:instancePath+"/last_deactivation/detail",schemaPath:"#/properties/last_deactivation/oneOf/1/properties/detail/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema31.properties.last_deactivation.oneOf[1].properties.detail.type,parentSchema:schema31.properties.last_deactivation.oneOf[1].properties.detail,data:data21};
if(vErrors === null){
vErrors = [err23];
}
else {
vErrors.push(err23);
}
errors++;
}
var valid7 = _errs51 === errors;
}
else {
var valid7 = true;
}
}
}
}
}
}
}
else {
const err24 = {instancePath:instancePath+"/last_deactivation",schemaPath:"#/properties/last_deactivation/oneOf/1/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema31.properties.last_deactivation.oneOf[1].type,parentSchema:schema31.properties.last_deactivation.oneOf[1],data:data16};
if(vErrors === null){
vErrors = [err24];
}
else {
vErrors.push(err24);
}
errors++;
}
}
var _valid2 = _errs40 === errors;
if(_valid2 && valid6){
valid6 = false;
passing2 = [passing2, 1];
}
else {
if(_valid2){
valid6 = true;
passing2 = 1;
var props1 = {};
props1.time = true;
props1.actor = true;
props1.reason = true;
props1.result = true;
props1.detail = true;
}
}
if(!valid6){
const err25 = {instancePath:instancePath+"/last_deactivation",schemaPath:"#/properties/last_deactivation/oneOf",keyword:"oneOf",params:{passingSchemas: passing2},message:"must match exactly one schema in oneOf",schema:schema31.properties.last_deactivation.oneOf,parentSchema:schema31.properties.last_deactivation,data:data16};
if(vErrors === null){
vErrors = [err25];
}
else {
vErrors.push(err25);
}
errors++;
validate20.errors = vErrors;
return false;
}
else {
errors = _errs37;
if(vErrors !== null){
if(_errs37){
vErrors.length = _errs37;
}
else {
vErrors = null;
}
}
}
var valid0 = _errs36 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.last_tamper !== undefined){
let data22 = data.last_tamper;
const _errs53 = errors;
const _errs54 = errors;
let valid9 = false;
let passing3 = null;
const _errs55 = errors;
if(data22 !== null){
const err26 = {instancePath:instancePath+"/last_tamper",schemaPath:"#/properties/last_tamper/oneOf/0/type",keyword:"type",params:{type: "null"},message:"must be null",schema:schema31.properties.last_tamper.oneOf[0].type,parentSchema:schema31.properties.last_tamper.oneOf[0],data:data22};
if(vErrors === null){
vErrors = [err26];
}
else {
vErrors.push(err26);
}
errors++;
}
var _valid3 = _errs55 === errors;
if(_valid3){
valid9 = true;
passing3 = 0;
}
const _errs57 = errors;
if(errors === _errs57){
if(data22 && typeof data22 == "object" && !Array.isArray(data22)){
let missing3;
if(((data22.time === undefined) && (missing3 = "time")) || ((data22.detail === undefined) && (missing3 = "detail"))){
const err27 = {instancePath:instancePath+"/last_tamper",schemaPath:"#/properties/last_tamper/oneOf/1/required",keyword:"required",params:{missingProperty: missing3},message:"must have required property '"+missing3+"'",schema:schema31.properties.last_tamper.oneOf[1].required,parentSchema:schema31.properties.last_tamper.oneOf[1],data:data22};
if(vErrors === null){
vErrors = [err27];
}
else {
vErrors.push(err27);
}
errors++;
}
else {
if(data22.time !== undefined){
let data23 = data22.time;
const _errs59 = errors;
const _errs60 = errors;
if(errors === _errs60){
if((typeof data23 == "number") && (isFinite(data23))){
if(data23 < 0 || isNaN(data23)){
const err28 = {instancePath:instancePath+"/last_tamper/time",schemaPath:"#/$defs/time/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema33,data:data23};
if(vErrors === null){
vErrors = [err28];
}
else {
vErrors.push(err28);
}
errors++;
}
}
else {
const err29 = {instancePath:instancePath+"/last_tamper/time",schemaPath:"#/$defs/time/type",keyword:"type",params:{type: "number"},message:"must be number",schema:schema33.type,parentSchema:schema33,data:data23};
if(vErrors === null){
vErrors = [err29];
}
else {
vErrors.push(err29);
}
errors++;
}
}
var valid10 = _errs59 === errors;
}
else {
var valid10 = true;
}
if(valid10){
if(data22.detail !== undefined){
let data24 = data22.detail;
const _errs62 = errors;
if(typeof data24 !== "string"){
const err30 = {instancePath:instancePath+"/last_tamper/detail",schemaPath:"#/properties/last_tamper/oneOf/1/properties/detail/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema31.properties.last_tamper.oneOf[1].properties.detail.type,parentSchema:schema31.properties.last_tamper.oneOf[1].properties.detail,data:data24};
if(vErrors === null){
vErrors = [err30];
}
else {
vErrors.push(err30);
}
errors++;
}
var valid10 = _errs62 === errors;
}
else {
var valid10 = true;
}
}
}
}
else {
const err31 = {instancePath:instancePath+"/last_tamper",schemaPath:"#/properties/last_tamper/oneOf/1/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema31.properties.last_tamper.oneOf[1].type,parentSchema:schema31.properties.last_tamper.oneOf[1],data:data22};
if(vErrors === null){
vErrors = [err31];
}
else {
vErrors.push(err31);
}
errors++;
}
}
var _valid3 = _errs57 === errors;
if(_valid3 && valid9){
valid9 = false;
passing3 = [passing3, 1];
}
else {
if(_valid3){
valid9 = true;
passing3 = 1;
var props2 = {};
props2.time = true;
props2.detail = true;
}
}
if(!valid9){
const err32 = {instancePath:instancePath+"/last_tamper",schemaPath:"#/properties/last_tamper/oneOf",keyword:"oneOf",params:{passingSchemas: passing3},message:"must match exactly one schema in oneOf",schema:schema31.properties.last_tamper.oneOf,parentSchema:schema31.properties.last_tamper,data:data22};
if(vErrors === null){
vErrors = [err32];
}
else {
vErrors.push(err32);
}
errors++;
validate20.errors = vErrors;
return false;
}
else {
errors = _errs54;
if(vErrors !== null){
if(_errs54){
vErrors.length = _errs54;
}
else {
vErrors = null;
}
}
}
var valid0 = _errs53 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.activations_total !== undefined){
let data25 = data.activations_total;
const _errs64 = errors;
if(errors === _errs64){
if(data25 && typeof data25 == "object" && !Array.isArray(data25)){
for(const key0 in data25){
let data26 = data25[key0];
const _errs67 = errors;
const _errs68 = errors;
if(!(((typeof data26 == "number") && (!(data26 % 1) && !isNaN(data26))) && (isFinite(data26)))){
validate20.errors = [{instancePath:instancePath+"/activations_total/" + key0.replace(/~/g, "~0").replace(/\//g, "~1"),schemaPath:"#/$defs/count/type",keyword:"type",params:{type: "integer"},message:"must be integer",schema:schema38.type,parentSchema:schema38,data:data26}];
return false;
}
if(errors === _errs68){
if((typeof data26 == "number") && (isFinite(data26))){
if(data26 > 9007199254740991 || isNaN(data26)){
validate20.errors = [{instancePath:instancePath+"/activations_total/" + key0.replace(/~/g, "~0").replace(/\//g, "~1"),schemaPath:"#/$defs/count/maximum",keyword:"maximum",params:{comparison: "<=", limit: 9007199254740991},message:"must be <= 9007199254740991",schema:9007199254740991,parentSchema:schema38,data:data26}];
return false;
}
else {
if(data26 < 0 || isNaN(data26)){
validate20.errors = [{instancePath:instancePath+"/activations_total/" + key0.replace(/~/g, "~0").replace(/\//g, "~1"),schemaPath:"#/$defs/count/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema38,data:data26}];
return false;
}
}
}
}
var valid12 = _errs67 === errors;
if(!valid12){
break;
}
}
}
else {
validate20.errors = [{instancePath:instancePath+"/activations_total",schemaPath:"#/properties/activations_total/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema31.properties.activations_total.type,parentSchema:schema31.properties.activations_total,data:data25}];
return false;
}
}
var valid0 = _errs64 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.tamper_total !== undefined){
let data27 = data.tamper_total;
const _errs70 = errors;
const _errs71 = errors;
if(!(((typeof data27 == "number") && (!(data27 % 1) && !isNaN(data27))) && (isFinite(data27)))){
validate20.errors = [{instancePath:instancePath+"/tamper_total",schemaPath:"#/$defs/count/type",keyword:"type",params:{type: "integer"},message:"must be integer",schema:schema38.type,parentSchema:schema38,data:data27}];
return false;
}
if(errors === _errs71){
if((typeof data27 == "number") && (isFinite(data27))){
if(data27 > 9007199254740991 || isNaN(data27)){
validate20.errors = [{instancePath:instancePath+"/tamper_total",schemaPath:"#/$defs/count/maximum",keyword:"maximum",params:{comparison: "<=", limit: 9007199254740991},message:"must be <= 9007199254740991",schema:9007199254740991,parentSchema:schema38,data:data27}];
return false;
}
else {
if(data27 < 0 || isNaN(data27)){
validate20.errors = [{instancePath:instancePath+"/tamper_total",schemaPath:"#/$defs/count/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema38,data:data27}];
return false;
}
}
}
}
var valid0 = _errs70 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.leftover_kills_total !== undefined){
let data28 = data.leftover_kills_total;
const _errs73 = errors;
const _errs74 = errors;
if(!(((typeof data28 == "number") && (!(data28 % 1) && !isNaN(data28))) && (isFinite(data28)))){
validate20.errors = [{instancePath:instancePath+"/leftover_kills_total",schemaPath:"#/$defs/count/type",keyword:"type",params:{type: "integer"},message:"must be integer",schema:schema38.type,parentSchema:schema38,data:data28}];
return false;
}
if(errors === _errs74){
if((typeof data28 == "number") && (isFinite(data28))){
if(data28 > 9007199254740991 || isNaN(data28)){
validate20.errors = [{instancePath:instancePath+"/leftover_kills_total",schemaPath:"#/$defs/count/maximum",keyword:"maximum",params:{comparison: "<=", limit: 9007199254740991},message:"must be <= 9007199254740991",schema:9007199254740991,parentSchema:schema38,data:data28}];
return false;
}
else {
if(data28 < 0 || isNaN(data28)){
validate20.errors = [{instancePath:instancePath+"/leftover_kills_total",schemaPath:"#/$defs/count/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema38,data:data28}];
return false;
}
}
}
}
var valid0 = _errs73 === errors;
}
else {
var valid0 = true;
}
}
}
}
}
}
}
}
}
}
}
}
else {
validate20.errors = [{instancePath,schemaPath:"#/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema31.type,parentSchema:schema31,data}];
return false;
}
}
validate20.errors = vErrors;
return errors === 0;
}
validate20.evaluated = {"props":{"schema":true,"active":true,"flag_id":true,"updated_at":true,"last_activation":true,"last_deactivation":true,"last_tamper":true,"activations_total":true,"tamper_total":true,"leftover_kills_total":true},"dynamicProps":false,"dynamicItems":false};


const schema41 = {"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://quantum-ess.invalid/contract/drill.schema.json","title":"drill.json, schema 1","description":"STATE_DIR/drill.json as proof_ess.sh writes it (contract/README.md section 5). The version is the value of \"schema\": a reader refuses any other.","type":"object","required":["schema","last","last_pass"],"properties":{"schema":{"const":1},"last":{"type":"object","description":"the last drill, whatever its result","required":["time","mode","result","checks","failed"],"properties":{"time":{"title":"a non-negative number","type":"number","minimum":0,"description":"Unix seconds"},"mode":{"enum":["dry-run","full"]},"result":{"enum":["pass","fail"]},"checks":{"type":"integer","minimum":0},"failed":{"type":"integer","minimum":0},"triggers":{"type":"array","description":"full drills only: each trigger method, in the drill's order, with its result and its figure: the trigger to the last trading unit down by systemd's timestamps, in seconds (null when not measured: it did not stop trading, or was not run)","maxItems":4,"items":{"type":"object","required":["method","result","latency_seconds"],"properties":{"method":{"enum":["command","systemctl","touch","trip-request"]},"result":{"enum":["pass","fail","not-run"]},"latency_seconds":{"title":"a non-negative number or null","oneOf":[{"type":"number","minimum":0},{"type":"null"}]}}}}}},"last_pass":{"type":"object","description":"when a drill of each mode last passed; null while none has","required":["dry-run","full"],"properties":{"dry-run":{"title":"a non-negative number or null","oneOf":[{"type":"number","minimum":0},{"type":"null"}]},"full":{"title":"a non-negative number or null","oneOf":[{"type":"number","minimum":0},{"type":"null"}]}}}}};

function validate28(data, {instancePath="", parentData, parentDataProperty, rootData=data, dynamicAnchors={}}={}){
/*# sourceURL="https://quantum-ess.invalid/contract/drill.schema.json" */;
let vErrors = null;
let errors = 0;
const evaluated0 = validate28.evaluated;
if(evaluated0.dynamicProps){
evaluated0.props = undefined;
}
if(evaluated0.dynamicItems){
evaluated0.items = undefined;
}
if(errors === 0){
if(data && typeof data == "object" && !Array.isArray(data)){
let missing0;
if((((data.schema === undefined) && (missing0 = "schema")) || ((data.last === undefined) && (missing0 = "last"))) || ((data.last_pass === undefined) && (missing0 = "last_pass"))){
validate28.errors = [{instancePath,schemaPath:"#/required",keyword:"required",params:{missingProperty: missing0},message:"must have required property '"+missing0+"'",schema:schema41.required,parentSchema:schema41,data}];
return false;
}
else {
if(data.schema !== undefined){
let data0 = data.schema;
const _errs1 = errors;
if(1 !== data0){
validate28.errors = [{instancePath:instancePath+"/schema",schemaPath:"#/properties/schema/const",keyword:"const",params:{allowedValue: 1},message:"must be equal to constant",schema:1,parentSchema:schema41.properties.schema,data:data0}];
return false;
}
var valid0 = _errs1 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.last !== undefined){
let data1 = data.last;
const _errs2 = errors;
if(errors === _errs2){
if(data1 && typeof data1 == "object" && !Array.isArray(data1)){
let missing1;
if((((((data1.time === undefined) && (missing1 = "time")) || ((data1.mode === undefined) && (missing1 = "mode"))) || ((data1.result === undefined) && (missing1 = "result"))) || ((data1.checks === undefined) && (missing1 = "checks"))) || ((data1.failed === undefined) && (missing1 = "failed"))){
validate28.errors = [{instancePath:instancePath+"/last",schemaPath:"#/properties/last/required",keyword:"required",params:{missingProperty: missing1},message:"must have required property '"+missing1+"'",schema:schema41.properties.last.required,parentSchema:schema41.properties.last,data:data1}];
return false;
}
else {
if(data1.time !== undefined){
let data2 = data1.time;
const _errs4 = errors;
if(errors === _errs4){
if((typeof data2 == "number") && (isFinite(data2))){
if(data2 < 0 || isNaN(data2)){
validate28.errors = [{instancePath:instancePath+"/last/time",schemaPath:"#/properties/last/properties/time/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema41.properties.last.properties.time,data:data2}];
return false;
}
}
else {
validate28.errors = [{instancePath:instancePath+"/last/time",schemaPath:"#/properties/last/properties/time/type",keyword:"type",params:{type: "number"},message:"must be number",schema:schema41.properties.last.properties.time.type,parentSchema:schema41.properties.last.properties.time,data:data2}];
return false;
}
}
var valid1 = _errs4 === errors;
}
else {
var valid1 = true;
}
if(valid1){
if(data1.mode !== undefined){
let data3 = data1.mode;
const _errs6 = errors;
if(!((data3 === "dry-run") || (data3 === "full"))){
validate28.errors = [{instancePath:instancePath+"/last/mode",schemaPath:"#/properties/last/properties/mode/enum",keyword:"enum",params:{allowedValues: schema41.properties.last.properties.mode.enum},message:"must be equal to one of the allowed values",schema:schema41.properties.last.properties.mode.enum,parentSchema:schema41.properties.last.properties.mode,data:data3}];
return false;
}
var valid1 = _errs6 === errors;
}
else {
var valid1 = true;
}
if(valid1){
if(data1.result !== undefined){
let data4 = data1.result;
const _errs7 = errors;
if(!((data4 === "pass") || (data4 === "fail"))){
validate28.errors = [{instancePath:instancePath+"/last/result",schemaPath:"#/properties/last/properties/result/enum",keyword:"enum",params:{allowedValues: schema41.properties.last.properties.result.enum},message:"must be equal to one of the allowed values",schema:schema41.properties.last.properties.result.enum,parentSchema:schema41.properties.last.properties.result,data:data4}];
return false;
}
var valid1 = _errs7 === errors;
}
else {
var valid1 = true;
}
if(valid1){
if(data1.checks !== undefined){
let data5 = data1.checks;
const _errs8 = errors;
if(!(((typeof data5 == "number") && (!(data5 % 1) && !isNaN(data5))) && (isFinite(data5)))){
validate28.errors = [{instancePath:instancePath+"/last/checks",schemaPath:"#/properties/last/properties/checks/type",keyword:"type",params:{type: "integer"},message:"must be integer",schema:schema41.properties.last.properties.checks.type,parentSchema:schema41.properties.last.properties.checks,data:data5}];
return false;
}
if(errors === _errs8){
if((typeof data5 == "number") && (isFinite(data5))){
if(data5 < 0 || isNaN(data5)){
validate28.errors = [{instancePath:instancePath+"/last/checks",schemaPath:"#/properties/last/properties/checks/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema41.properties.last.properties.checks,data:data5}];
return false;
}
}
}
var valid1 = _errs8 === errors;
}
else {
var valid1 = true;
}
if(valid1){
if(data1.failed !== undefined){
let data6 = data1.failed;
const _errs10 = errors;
if(!(((typeof data6 == "number") && (!(data6 % 1) && !isNaN(data6))) && (isFinite(data6)))){
validate28.errors = [{instancePath:instancePath+"/last/failed",schemaPath:"#/properties/last/properties/failed/type",keyword:"type",params:{type: "integer"},message:"must be integer",schema:schema41.properties.last.properties.failed.type,parentSchema:schema41.properties.last.properties.failed,data:data6}];
return false;
}
if(errors === _errs10){
if((typeof data6 == "number") && (isFinite(data6))){
if(data6 < 0 || isNaN(data6)){
validate28.errors = [{instancePath:instancePath+"/last/failed",schemaPath:"#/properties/last/properties/failed/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema41.properties.last.properties.failed,data:data6}];
return false;
}
}
}
var valid1 = _errs10 === errors;
}
else {
var valid1 = true;
}
if(valid1){
if(data1.triggers !== undefined){
let data7 = data1.triggers;
const _errs12 = errors;
if(errors === _errs12){
if(Array.isArray(data7)){
if(data7.length > 4){
validate28.errors = [{instancePath:instancePath+"/last/triggers",schemaPath:"#/properties/last/properties/triggers/maxItems",keyword:"maxItems",params:{limit: 4},message:"must NOT have more than 4 items",schema:4,parentSchema:schema41.properties.last.properties.triggers,data:data7}];
return false;
}
else {
var valid2 = true;
const len0 = data7.length;
for(let i0=0; i0<len0; i0++){
let data8 = data7[i0];
const _errs14 = errors;
if(errors === _errs14){
if(data8 && typeof data8 == "object" && !Array.isArray(data8)){
let missing2;
if((((data8.method === undefined) && (missing2 = "method")) || ((data8.result === undefined) && (missing2 = "result"))) || ((data8.latency_seconds === undefined) && (missing2 = "latency_seconds"))){
validate28.errors = [{instancePath:instancePath+"/last/triggers/" + i0,schemaPath:"#/properties/last/properties/triggers/items/required",keyword:"required",params:{missingProperty: missing2},message:"must have required property '"+missing2+"'",schema:schema41.properties.last.properties.triggers.items.required,parentSchema:schema41.properties.last.properties.triggers.items,data:data8}];
return false;
}
else {
if(data8.method !== undefined){
let data9 = data8.method;
const _errs16 = errors;
if(!((((data9 === "command") || (data9 === "systemctl")) || (data9 === "touch")) || (data9 === "trip-request"))){
validate28.errors = [{instancePath:instancePath+"/last/triggers/" + i0+"/method",schemaPath:"#/properties/last/properties/triggers/items/properties/method/enum",keyword:"enum",params:{allowedValues: schema41.properties.last.properties.triggers.items.properties.method.enum},message:"must be equal to one of the allowed values",schema:schema41.properties.last.properties.triggers.items.properties.method.enum,parentSchema:schema41.properties.last.properties.triggers.items.properties.method,data:data9}];
return false;
}
var valid3 = _errs16 === errors;
}
else {
var valid3 = true;
}
if(valid3){
if(data8.result !== undefined){
let data10 = data8.result;
const _errs17 = errors;
if(!(((data10 === "pass") || (data10 === "fail")) || (data10 === "not-run"))){
validate28.errors = [{instancePath:instancePath+"/last/triggers/" + i0+"/result",schemaPath:"#/properties/last/properties/triggers/items/properties/result/enum",keyword:"enum",params:{allowedValues: schema41.properties.last.properties.triggers.items.properties.result.enum},message:"must be equal to one of the allowed values",schema:schema41.properties.last.properties.triggers.items.properties.result.enum,parentSchema:schema41.properties.last.properties.triggers.items.properties.result,data:data10}];
return false;
}
var valid3 = _errs17 === errors;
}
else {
var valid3 = true;
}
if(valid3){
if(data8.latency_seconds !== undefined){
let data11 = data8.latency_seconds;
const _errs18 = errors;
const _errs19 = errors;
let valid4 = false;
let passing0 = null;
const _errs20 = errors;
if(errors === _errs20){
if((typeof data11 == "number") && (isFinite(data11))){
if(data11 < 0 || isNaN(data11)){
const err0 = {instancePath:instancePath+"/last/triggers/" + i0+"/latency_seconds",schemaPath:"#/properties/last/properties/triggers/items/properties/latency_seconds/oneOf/0/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema41.properties.last.properties.triggers.items.properties.latency_seconds.oneOf[0],data:data11};
if(vErrors === null){
vErrors = [err0];
}
else {
vErrors.push(err0);
}
errors++;
}
}
else {
const err1 = {instancePath:instancePath+"/last/triggers/" + i0+"/latency_seconds",schemaPath:"#/properties/last/properties/triggers/items/properties/latency_seconds/oneOf/0/type",keyword:"type",params:{type: "number"},message:"must be number",schema:schema41.properties.last.properties.triggers.items.properties.latency_seconds.oneOf[0].type,parentSchema:schema41.properties.last.properties.triggers.items.properties.latency_seconds.oneOf[0],data:data11};
if(vErrors === null){
vErrors = [err1];
}
else {
vErrors.push(err1);
}
errors++;
}
}
var _valid0 = _errs20 === errors;
if(_valid0){
valid4 = true;
passing0 = 0;
}
const _errs22 = errors;
if(data11 !== null){
const err2 = {instancePath:instancePath+"/last/triggers/" + i0+"/latency_seconds",schemaPath:"#/properties/last/properties/triggers/items/properties/latency_seconds/oneOf/1/type",keyword:"type",params:{type: "null"},message:"must be null",schema:schema41.properties.last.properties.triggers.items.properties.latency_seconds.oneOf[1].type,parentSchema:schema41.properties.last.properties.triggers.items.properties.latency_seconds.oneOf[1],data:data11};
if(vErrors === null){
vErrors = [err2];
}
else {
vErrors.push(err2);
}
errors++;
}
var _valid0 = _errs22 === errors;
if(_valid0 && valid4){
valid4 = false;
passing0 = [passing0, 1];
}
else {
if(_valid0){
valid4 = true;
passing0 = 1;
}
}
if(!valid4){
const err3 = {instancePath:instancePath+"/last/triggers/" + i0+"/latency_seconds",schemaPath:"#/properties/last/properties/triggers/items/properties/latency_seconds/oneOf",keyword:"oneOf",params:{passingSchemas: passing0},message:"must match exactly one schema in oneOf",schema:schema41.properties.last.properties.triggers.items.properties.latency_seconds.oneOf,parentSchema:schema41.properties.last.properties.triggers.items.properties.latency_seconds,data:data11};
if(vErrors === null){
vErrors = [err3];
}
else {
vErrors.push(err3);
}
errors++;
validate28.errors = vErrors;
return false;
}
else {
errors = _errs19;
if(vErrors !== null){
if(_errs19){
vErrors.length = _errs19;
}
else {
vErrors = null;
}
}
}
var valid3 = _errs18 === errors;
}
else {
var valid3 = true;
}
}
}
}
}
else {
validate28.errors = [{instancePath:instancePath+"/last/triggers/" + i0,schemaPath:"#/properties/last/properties/triggers/items/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema41.properties.last.properties.triggers.items.type,parentSchema:schema41.properties.last.properties.triggers.items,data:data8}];
return false;
}
}
var valid2 = _errs14 === errors;
if(!valid2){
break;
}
}
}
}
else {
validate28.errors = [{instancePath:instancePath+"/last/triggers",schemaPath:"#/properties/last/properties/triggers/type",keyword:"type",params:{type: "array"},message:"must be array",schema:schema41.properties.last.properties.triggers.type,parentSchema:schema41.properties.last.properties.triggers,data:data7}];
return false;
}
}
var valid1 = _errs12 === errors;
}
else {
var valid1 = true;
}
}
}
}
}
}
}
}
else {
validate28.errors = [{instancePath:instancePath+"/last",schemaPath:"#/properties/last/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema41.properties.last.type,parentSchema:schema41.properties.last,data:data1}];
return false;
}
}
var valid0 = _errs2 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.last_pass !== undefined){
let data12 = data.last_pass;
const _errs24 = errors;
if(errors === _errs24){
if(data12 && typeof data12 == "object" && !Array.isArray(data12)){
let missing3;
if(((data12["dry-run"] === undefined) && (missing3 = "dry-run")) || ((data12.full === undefined) && (missing3 = "full"))){
validate28.errors = [{instancePath:instancePath+"/last_pass",schemaPath:"#/properties/last_pass/required",keyword:"required",params:{missingProperty: missing3},message:"must have required property '"+missing3+"'",schema:schema41.properties.last_pass.required,parentSchema:schema41.properties.last_pass,data:data12}];
return false;
}
else {
if(data12["dry-run"] !== undefined){
let data13 = data12["dry-run"];
const _errs26 = errors;
const _errs27 = errors;
let valid6 = false;
let passing1 = null;
const _errs28 = errors;
if(errors === _errs28){
if((typeof data13 == "number") && (isFinite(data13))){
if(data13 < 0 || isNaN(data13)){
const err4 = {instancePath:instancePath+"/last_pass/dry-run",schemaPath:"#/properties/last_pass/properties/dry-run/oneOf/0/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema41.properties.last_pass.properties["dry-run"].oneOf[0],data:data13};
if(vErrors === null){
vErrors = [err4];
}
else {
vErrors.push(err4);
}
errors++;
}
}
else {
const err5 = {instancePath:instancePath+"/last_pass/dry-run",schemaPath:"#/properties/last_pass/properties/dry-run/oneOf/0/type",keyword:"type",params:{type: "number"},message:"must be number",schema:schema41.properties.last_pass.properties["dry-run"].oneOf[0].type,parentSchema:schema41.properties.last_pass.properties["dry-run"].oneOf[0],data:data13};
if(vErrors === null){
vErrors = [err5];
}
else {
vErrors.push(err5);
}
errors++;
}
}
var _valid1 = _errs28 === errors;
if(_valid1){
valid6 = true;
passing1 = 0;
}
const _errs30 = errors;
if(data13 !== null){
const err6 = {instancePath:instancePath+"/last_pass/dry-run",schemaPath:"#/properties/last_pass/properties/dry-run/oneOf/1/type",keyword:"type",params:{type: "null"},message:"must be null",schema:schema41.properties.last_pass.properties["dry-run"].oneOf[1].type,parentSchema:schema41.properties.last_pass.properties["dry-run"].oneOf[1],data:data13};
if(vErrors === null){
vErrors = [err6];
}
else {
vErrors.push(err6);
}
errors++;
}
var _valid1 = _errs30 === errors;
if(_valid1 && valid6){
valid6 = false;
passing1 = [passing1, 1];
}
else {
if(_valid1){
valid6 = true;
passing1 = 1;
}
}
if(!valid6){
const err7 = {instancePath:instancePath+"/last_pass/dry-run",schemaPath:"#/properties/last_pass/properties/dry-run/oneOf",keyword:"oneOf",params:{passingSchemas: passing1},message:"must match exactly one schema in oneOf",schema:schema41.properties.last_pass.properties["dry-run"].oneOf,parentSchema:schema41.properties.last_pass.properties["dry-run"],data:data13};
if(vErrors === null){
vErrors = [err7];
}
else {
vErrors.push(err7);
}
errors++;
validate28.errors = vErrors;
return false;
}
else {
errors = _errs27;
if(vErrors !== null){
if(_errs27){
vErrors.length = _errs27;
}
else {
vErrors = null;
}
}
}
var valid5 = _errs26 === errors;
}
else {
var valid5 = true;
}
if(valid5){
if(data12.full !== undefined){
let data14 = data12.full;
const _errs32 = errors;
const _errs33 = errors;
let valid7 = false;
let passing2 = null;
const _errs34 = errors;
if(errors === _errs34){
if((typeof data14 == "number") && (isFinite(data14))){
if(data14 < 0 || isNaN(data14)){
const err8 = {instancePath:instancePath+"/last_pass/full",schemaPath:"#/properties/last_pass/properties/full/oneOf/0/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema41.properties.last_pass.properties.full.oneOf[0],data:data14};
if(vErrors === null){
vErrors = [err8];
}
else {
vErrors.push(err8);
}
errors++;
}
}
else {
const err9 = {instancePath:instancePath+"/last_pass/full",schemaPath:"#/properties/last_pass/properties/full/oneOf/0/type",keyword:"type",params:{type: "number"},message:"must be number",schema:schema41.properties.last_pass.properties.full.oneOf[0].type,parentSchema:schema41.properties.last_pass.properties.full.oneOf[0],data:data14};
if(vErrors === null){
vErrors = [err9];
}
else {
vErrors.push(err9);
}
errors++;
}
}
var _valid2 = _errs34 === errors;
if(_valid2){
valid7 = true;
passing2 = 0;
}
const _errs36 = errors;
if(data14 !== null){
const err10 = {instancePath:instancePath+"/last_pass/full",schemaPath:"#/properties/last_pass/properties/full/oneOf/1/type",keyword:"type",params:{type: "null"},message:"must be null",schema:schema41.properties.last_pass.properties.full.oneOf[1].type,parentSchema:schema41.properties.last_pass.properties.full.oneOf[1],data:data14};
if(vErrors === null){
vErrors = [err10];
}
else {
vErrors.push(err10);
}
errors++;
}
var _valid2 = _errs36 === errors;
if(_valid2 && valid7){
valid7 = false;
passing2 = [passing2, 1];
}
else {
if(_valid2){
valid7 = true;
passing2 = 1;
}
}
if(!valid7){
const err11 = {instancePath:instancePath+"/last_pass/full",schemaPath:"#/properties/last_pass/properties/full/oneOf",keyword:"oneOf",params:{passingSchemas: passing2},message:"must match exactly one schema in oneOf",schema:schema41.properties.last_pass.properties.full.oneOf,parentSchema:schema41.properties.last_pass.properties.full,data:data14};
if(vErrors === null){
vErrors = [err11];
}
else {
vErrors.push(err11);
}
errors++;
validate28.errors = vErrors;
return false;
}
else {
errors = _errs33;
if(vErrors !== null){
if(_errs33){
vErrors.length = _errs33;
}
else {
vErrors = null;
}
}
}
var valid5 = _errs32 === errors;
}
else {
var valid5 = true;
}
}
}
}
else {
validate28.errors = [{instancePath:instancePath+"/last_pass",schemaPath:"#/properties/last_pass/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema41.properties.last_pass.type,parentSchema:schema41.properties.last_pass,data:data12}];
return false;
}
}
var valid0 = _errs24 === errors;
}
else {
var valid0 = true;
}
}
}
}
}
else {
validate28.errors = [{instancePath,schemaPath:"#/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema41.type,parentSchema:schema41,data}];
return false;
}
}
validate28.errors = vErrors;
return errors === 0;
}
validate28.evaluated = {"props":{"schema":true,"last":true,"last_pass":true},"dynamicProps":false,"dynamicItems":false};


const schema42 = {"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://quantum-ess.invalid/contract/exemption.schema.json","title":"a maintenance exemption record","description":"/run/quantum-ess/exempt/<unit>, one JSON line, as `ess_controller.sh exempt` writes it (contract/README.md section 5). \"unit\" must also be the file's name, which a schema cannot say; a record whose \"until\" has passed is no exemption.","type":"object","required":["unit","since","until","actor","reason"],"properties":{"unit":{"title":"a unit name","type":"string","pattern":"^[A-Za-z0-9:_.@\\\\-]+$"},"since":{"title":"a Unix time in whole seconds","type":"integer","minimum":0},"until":{"title":"a Unix time in whole seconds","type":"integer","minimum":0},"actor":{"type":"string"},"reason":{"type":"string"}}};

function validate29(data, {instancePath="", parentData, parentDataProperty, rootData=data, dynamicAnchors={}}={}){
/*# sourceURL="https://quantum-ess.invalid/contract/exemption.schema.json" */;
let vErrors = null;
let errors = 0;
const evaluated0 = validate29.evaluated;
if(evaluated0.dynamicProps){
evaluated0.props = undefined;
}
if(evaluated0.dynamicItems){
evaluated0.items = undefined;
}
if(errors === 0){
if(data && typeof data == "object" && !Array.isArray(data)){
let missing0;
if((((((data.unit === undefined) && (missing0 = "unit")) || ((data.since === undefined) && (missing0 = "since"))) || ((data.until === undefined) && (missing0 = "until"))) || ((data.actor === undefined) && (missing0 = "actor"))) || ((data.reason === undefined) && (missing0 = "reason"))){
validate29.errors = [{instancePath,schemaPath:"#/required",keyword:"required",params:{missingProperty: missing0},message:"must have required property '"+missing0+"'",schema:schema42.required,parentSchema:schema42,data}];
return false;
}
else {
if(data.unit !== undefined){
let data0 = data.unit;
const _errs1 = errors;
if(errors === _errs1){
if(typeof data0 === "string"){
if(!pattern5.test(data0)){
validate29.errors = [{instancePath:instancePath+"/unit",schemaPath:"#/properties/unit/pattern",keyword:"pattern",params:{pattern: "^[A-Za-z0-9:_.@\\\\-]+$"},message:"must match pattern \""+"^[A-Za-z0-9:_.@\\\\-]+$"+"\"",schema:"^[A-Za-z0-9:_.@\\\\-]+$",parentSchema:schema42.properties.unit,data:data0}];
return false;
}
}
else {
validate29.errors = [{instancePath:instancePath+"/unit",schemaPath:"#/properties/unit/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema42.properties.unit.type,parentSchema:schema42.properties.unit,data:data0}];
return false;
}
}
var valid0 = _errs1 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.since !== undefined){
let data1 = data.since;
const _errs3 = errors;
if(!(((typeof data1 == "number") && (!(data1 % 1) && !isNaN(data1))) && (isFinite(data1)))){
validate29.errors = [{instancePath:instancePath+"/since",schemaPath:"#/properties/since/type",keyword:"type",params:{type: "integer"},message:"must be integer",schema:schema42.properties.since.type,parentSchema:schema42.properties.since,data:data1}];
return false;
}
if(errors === _errs3){
if((typeof data1 == "number") && (isFinite(data1))){
if(data1 < 0 || isNaN(data1)){
validate29.errors = [{instancePath:instancePath+"/since",schemaPath:"#/properties/since/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema42.properties.since,data:data1}];
return false;
}
}
}
var valid0 = _errs3 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.until !== undefined){
let data2 = data.until;
const _errs5 = errors;
if(!(((typeof data2 == "number") && (!(data2 % 1) && !isNaN(data2))) && (isFinite(data2)))){
validate29.errors = [{instancePath:instancePath+"/until",schemaPath:"#/properties/until/type",keyword:"type",params:{type: "integer"},message:"must be integer",schema:schema42.properties.until.type,parentSchema:schema42.properties.until,data:data2}];
return false;
}
if(errors === _errs5){
if((typeof data2 == "number") && (isFinite(data2))){
if(data2 < 0 || isNaN(data2)){
validate29.errors = [{instancePath:instancePath+"/until",schemaPath:"#/properties/until/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema42.properties.until,data:data2}];
return false;
}
}
}
var valid0 = _errs5 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.actor !== undefined){
let data3 = data.actor;
const _errs7 = errors;
if(typeof data3 !== "string"){
validate29.errors = [{instancePath:instancePath+"/actor",schemaPath:"#/properties/actor/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema42.properties.actor.type,parentSchema:schema42.properties.actor,data:data3}];
return false;
}
var valid0 = _errs7 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.reason !== undefined){
let data4 = data.reason;
const _errs9 = errors;
if(typeof data4 !== "string"){
validate29.errors = [{instancePath:instancePath+"/reason",schemaPath:"#/properties/reason/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema42.properties.reason.type,parentSchema:schema42.properties.reason,data:data4}];
return false;
}
var valid0 = _errs9 === errors;
}
else {
var valid0 = true;
}
}
}
}
}
}
}
else {
validate29.errors = [{instancePath,schemaPath:"#/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema42.type,parentSchema:schema42,data}];
return false;
}
}
validate29.errors = vErrors;
return errors === 0;
}
validate29.evaluated = {"props":{"unit":true,"since":true,"until":true,"actor":true,"reason":true},"dynamicProps":false,"dynamicItems":false};


const schema43 = {"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://quantum-ess.invalid/contract/webhook-payload.schema.json","title":"Alertmanager's webhook payload, version 4","description":"The body Alertmanager POSTs to a webhook receiver (its webhook_config documentation), as the exporter's POST /alertmanager accepts it. Members Alertmanager may add later are ignored; the documented ones must have exactly their type. truncatedAlerts alone may be missing (Alertmanager before 0.22): it then counts as 0.","type":"object","required":["version","groupKey","status","receiver","groupLabels","commonLabels","commonAnnotations","externalURL","alerts"],"properties":{"version":{"title":"\"4\"","const":"4"},"groupKey":{"type":"string"},"truncatedAlerts":{"title":"a non-negative integer","type":"integer","minimum":0,"maximum":9007199254740991},"status":{"$ref":"#/$defs/status"},"receiver":{"type":"string"},"groupLabels":{"$ref":"#/$defs/labels"},"commonLabels":{"$ref":"#/$defs/labels"},"commonAnnotations":{"$ref":"#/$defs/labels"},"externalURL":{"type":"string"},"alerts":{"type":"array","items":{"$ref":"#/$defs/alert"}}},"$defs":{"status":{"title":"\"firing\" or \"resolved\"","enum":["firing","resolved"]},"labels":{"type":"object","additionalProperties":{"type":"string"}},"timestamp":{"title":"an RFC 3339 timestamp","description":"Go's time.Time in JSON: nanoseconds optional; endsAt of a firing alert is Go's zero time","type":"string","pattern":"^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})$"},"alert":{"type":"object","required":["status","labels","annotations","startsAt","endsAt","generatorURL","fingerprint"],"properties":{"status":{"$ref":"#/$defs/status"},"labels":{"$ref":"#/$defs/labels"},"annotations":{"$ref":"#/$defs/labels"},"startsAt":{"$ref":"#/$defs/timestamp"},"endsAt":{"$ref":"#/$defs/timestamp"},"generatorURL":{"type":"string"},"fingerprint":{"type":"string"}}}}};
const schema44 = {"title":"\"firing\" or \"resolved\"","enum":["firing","resolved"]};
const schema45 = {"type":"object","additionalProperties":{"type":"string"}};
const schema48 = {"type":"object","required":["status","labels","annotations","startsAt","endsAt","generatorURL","fingerprint"],"properties":{"status":{"$ref":"#/$defs/status"},"labels":{"$ref":"#/$defs/labels"},"annotations":{"$ref":"#/$defs/labels"},"startsAt":{"$ref":"#/$defs/timestamp"},"endsAt":{"$ref":"#/$defs/timestamp"},"generatorURL":{"type":"string"},"fingerprint":{"type":"string"}}};
const schema52 = {"title":"an RFC 3339 timestamp","description":"Go's time.Time in JSON: nanoseconds optional; endsAt of a firing alert is Go's zero time","type":"string","pattern":"^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})$"};
const pattern7 = new RegExp("^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})$", "u");

function validate31(data, {instancePath="", parentData, parentDataProperty, rootData=data, dynamicAnchors={}}={}){
let vErrors = null;
let errors = 0;
const evaluated0 = validate31.evaluated;
if(evaluated0.dynamicProps){
evaluated0.props = undefined;
}
if(evaluated0.dynamicItems){
evaluated0.items = undefined;
}
if(errors === 0){
if(data && typeof data == "object" && !Array.isArray(data)){
let missing0;
if((((((((data.status === undefined) && (missing0 = "status")) || ((data.labels === undefined) && (missing0 = "labels"))) || ((data.annotations === undefined) && (missing0 = "annotations"))) || ((data.startsAt === undefined) && (missing0 = "startsAt"))) || ((data.endsAt === undefined) && (missing0 = "endsAt"))) || ((data.generatorURL === undefined) && (missing0 = "generatorURL"))) || ((data.fingerprint === undefined) && (missing0 = "fingerprint"))){
validate31.errors = [{instancePath,schemaPath:"#/required",keyword:"required",params:{missingProperty: missing0},message:"must have required property '"+missing0+"'",schema:schema48.required,parentSchema:schema48,data}];
return false;
}
else {
if(data.status !== undefined){
let data0 = data.status;
const _errs1 = errors;
if(!((data0 === "firing") || (data0 === "resolved"))){
validate31.errors = [{instancePath:instancePath+"/status",schemaPath:"#/$defs/status/enum",keyword:"enum",params:{allowedValues: schema44.enum},message:"must be equal to one of the allowed values",schema:schema44.enum,parentSchema:schema44,data:data0}];
return false;
}
var valid0 = _errs1 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.labels !== undefined){
let data1 = data.labels;
const _errs3 = errors;
const _errs4 = errors;
if(errors === _errs4){
if(data1 && typeof data1 == "object" && !Array.isArray(data1)){
for(const key0 in data1){
let data2 = data1[key0];
const _errs7 = errors;
if(typeof data2 !== "string"){
validate31.errors = [{instancePath:instancePath+"/labels/" + key0.replace(/~/g, "~0").replace(/\//g, "~1"),schemaPath:"#/$defs/labels/additionalProperties/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema45.additionalProperties.type,parentSchema:schema45.additionalProperties,data:data2}];
return false;
}
var valid3 = _errs7 === errors;
if(!valid3){
break;
}
}
}
else {
validate31.errors = [{instancePath:instancePath+"/labels",schemaPath:"#/$defs/labels/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema45.type,parentSchema:schema45,data:data1}];
return false;
}
}
var valid0 = _errs3 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.annotations !== undefined){
let data3 = data.annotations;
const _errs9 = errors;
const _errs10 = errors;
if(errors === _errs10){
if(data3 && typeof data3 == "object" && !Array.isArray(data3)){
for(const key1 in data3){
let data4 = data3[key1];
const _errs13 = errors;
if(typeof data4 !== "string"){
validate31.errors = [{instancePath:instancePath+"/annotations/" + key1.replace(/~/g, "~0").replace(/\//g, "~1"),schemaPath:"#/$defs/labels/additionalProperties/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema45.additionalProperties.type,parentSchema:schema45.additionalProperties,data:data4}];
return false;
}
var valid5 = _errs13 === errors;
if(!valid5){
break;
}
}
}
else {
validate31.errors = [{instancePath:instancePath+"/annotations",schemaPath:"#/$defs/labels/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema45.type,parentSchema:schema45,data:data3}];
return false;
}
}
var valid0 = _errs9 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.startsAt !== undefined){
let data5 = data.startsAt;
const _errs15 = errors;
const _errs16 = errors;
if(errors === _errs16){
if(typeof data5 === "string"){
if(!pattern7.test(data5)){
validate31.errors = [{instancePath:instancePath+"/startsAt",schemaPath:"#/$defs/timestamp/pattern",keyword:"pattern",params:{pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})$"},message:"must match pattern \""+"^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})$"+"\"",schema:"^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})$",parentSchema:schema52,data:data5}];
return false;
}
}
else {
validate31.errors = [{instancePath:instancePath+"/startsAt",schemaPath:"#/$defs/timestamp/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema52.type,parentSchema:schema52,data:data5}];
return false;
}
}
var valid0 = _errs15 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.endsAt !== undefined){
let data6 = data.endsAt;
const _errs18 = errors;
const _errs19 = errors;
if(errors === _errs19){
if(typeof data6 === "string"){
if(!pattern7.test(data6)){
validate31.errors = [{instancePath:instancePath+"/endsAt",schemaPath:"#/$defs/timestamp/pattern",keyword:"pattern",params:{pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})$"},message:"must match pattern \""+"^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})$"+"\"",schema:"^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})$",parentSchema:schema52,data:data6}];
return false;
}
}
else {
validate31.errors = [{instancePath:instancePath+"/endsAt",schemaPath:"#/$defs/timestamp/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema52.type,parentSchema:schema52,data:data6}];
return false;
}
}
var valid0 = _errs18 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.generatorURL !== undefined){
let data7 = data.generatorURL;
const _errs21 = errors;
if(typeof data7 !== "string"){
validate31.errors = [{instancePath:instancePath+"/generatorURL",schemaPath:"#/properties/generatorURL/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema48.properties.generatorURL.type,parentSchema:schema48.properties.generatorURL,data:data7}];
return false;
}
var valid0 = _errs21 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.fingerprint !== undefined){
let data8 = data.fingerprint;
const _errs23 = errors;
if(typeof data8 !== "string"){
validate31.errors = [{instancePath:instancePath+"/fingerprint",schemaPath:"#/properties/fingerprint/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema48.properties.fingerprint.type,parentSchema:schema48.properties.fingerprint,data:data8}];
return false;
}
var valid0 = _errs23 === errors;
}
else {
var valid0 = true;
}
}
}
}
}
}
}
}
}
else {
validate31.errors = [{instancePath,schemaPath:"#/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema48.type,parentSchema:schema48,data}];
return false;
}
}
validate31.errors = vErrors;
return errors === 0;
}
validate31.evaluated = {"props":{"status":true,"labels":true,"annotations":true,"startsAt":true,"endsAt":true,"generatorURL":true,"fingerprint":true},"dynamicProps":false,"dynamicItems":false};


function validate30(data, {instancePath="", parentData, parentDataProperty, rootData=data, dynamicAnchors={}}={}){
/*# sourceURL="https://quantum-ess.invalid/contract/webhook-payload.schema.json" */;
let vErrors = null;
let errors = 0;
const evaluated0 = validate30.evaluated;
if(evaluated0.dynamicProps){
evaluated0.props = undefined;
}
if(evaluated0.dynamicItems){
evaluated0.items = undefined;
}
if(errors === 0){
if(data && typeof data == "object" && !Array.isArray(data)){
let missing0;
if((((((((((data.version === undefined) && (missing0 = "version")) || ((data.groupKey === undefined) && (missing0 = "groupKey"))) || ((data.status === undefined) && (missing0 = "status"))) || ((data.receiver === undefined) && (missing0 = "receiver"))) || ((data.groupLabels === undefined) && (missing0 = "groupLabels"))) || ((data.commonLabels === undefined) && (missing0 = "commonLabels"))) || ((data.commonAnnotations === undefined) && (missing0 = "commonAnnotations"))) || ((data.externalURL === undefined) && (missing0 = "externalURL"))) || ((data.alerts === undefined) && (missing0 = "alerts"))){
validate30.errors = [{instancePath,schemaPath:"#/required",keyword:"required",params:{missingProperty: missing0},message:"must have required property '"+missing0+"'",schema:schema43.required,parentSchema:schema43,data}];
return false;
}
else {
if(data.version !== undefined){
let data0 = data.version;
const _errs1 = errors;
if("4" !== data0){
validate30.errors = [{instancePath:instancePath+"/version",schemaPath:"#/properties/version/const",keyword:"const",params:{allowedValue: "4"},message:"must be equal to constant",schema:"4",parentSchema:schema43.properties.version,data:data0}];
return false;
}
var valid0 = _errs1 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.groupKey !== undefined){
let data1 = data.groupKey;
const _errs2 = errors;
if(typeof data1 !== "string"){
validate30.errors = [{instancePath:instancePath+"/groupKey",schemaPath:"#/properties/groupKey/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema43.properties.groupKey.type,parentSchema:schema43.properties.groupKey,data:data1}];
return false;
}
var valid0 = _errs2 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.truncatedAlerts !== undefined){
let data2 = data.truncatedAlerts;
const _errs4 = errors;
if(!(((typeof data2 == "number") && (!(data2 % 1) && !isNaN(data2))) && (isFinite(data2)))){
validate30.errors = [{instancePath:instancePath+"/truncatedAlerts",schemaPath:"#/properties/truncatedAlerts/type",keyword:"type",params:{type: "integer"},message:"must be integer",schema:schema43.properties.truncatedAlerts.type,parentSchema:schema43.properties.truncatedAlerts,data:data2}];
return false;
}
if(errors === _errs4){
if((typeof data2 == "number") && (isFinite(data2))){
if(data2 > 9007199254740991 || isNaN(data2)){
validate30.errors = [{instancePath:instancePath+"/truncatedAlerts",schemaPath:"#/properties/truncatedAlerts/maximum",keyword:"maximum",params:{comparison: "<=", limit: 9007199254740991},message:"must be <= 9007199254740991",schema:9007199254740991,parentSchema:schema43.properties.truncatedAlerts,data:data2}];
return false;
}
else {
if(data2 < 0 || isNaN(data2)){
validate30.errors = [{instancePath:instancePath+"/truncatedAlerts",schemaPath:"#/properties/truncatedAlerts/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0",schema:0,parentSchema:schema43.properties.truncatedAlerts,data:data2}];
return false;
}
}
}
}
var valid0 = _errs4 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.status !== undefined){
let data3 = data.status;
const _errs6 = errors;
if(!((data3 === "firing") || (data3 === "resolved"))){
validate30.errors = [{instancePath:instancePath+"/status",schemaPath:"#/$defs/status/enum",keyword:"enum",params:{allowedValues: schema44.enum},message:"must be equal to one of the allowed values",schema:schema44.enum,parentSchema:schema44,data:data3}];
return false;
}
var valid0 = _errs6 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.receiver !== undefined){
let data4 = data.receiver;
const _errs8 = errors;
if(typeof data4 !== "string"){
validate30.errors = [{instancePath:instancePath+"/receiver",schemaPath:"#/properties/receiver/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema43.properties.receiver.type,parentSchema:schema43.properties.receiver,data:data4}];
return false;
}
var valid0 = _errs8 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.groupLabels !== undefined){
let data5 = data.groupLabels;
const _errs10 = errors;
const _errs11 = errors;
if(errors === _errs11){
if(data5 && typeof data5 == "object" && !Array.isArray(data5)){
for(const key0 in data5){
let data6 = data5[key0];
const _errs14 = errors;
if(typeof data6 !== "string"){
validate30.errors = [{instancePath:instancePath+"/groupLabels/" + key0.replace(/~/g, "~0").replace(/\//g, "~1"),schemaPath:"#/$defs/labels/additionalProperties/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema45.additionalProperties.type,parentSchema:schema45.additionalProperties,data:data6}];
return false;
}
var valid3 = _errs14 === errors;
if(!valid3){
break;
}
}
}
else {
validate30.errors = [{instancePath:instancePath+"/groupLabels",schemaPath:"#/$defs/labels/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema45.type,parentSchema:schema45,data:data5}];
return false;
}
}
var valid0 = _errs10 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.commonLabels !== undefined){
let data7 = data.commonLabels;
const _errs16 = errors;
const _errs17 = errors;
if(errors === _errs17){
if(data7 && typeof data7 == "object" && !Array.isArray(data7)){
for(const key1 in data7){
let data8 = data7[key1];
const _errs20 = errors;
if(typeof data8 !== "string"){
validate30.errors = [{instancePath:instancePath+"/commonLabels/" + key1.replace(/~/g, "~0").replace(/\//g, "~1"),schemaPath:"#/$defs/labels/additionalProperties/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema45.additionalProperties.type,parentSchema:schema45.additionalProperties,data:data8}];
return false;
}
var valid5 = _errs20 === errors;
if(!valid5){
break;
}
}
}
else {
validate30.errors = [{instancePath:instancePath+"/commonLabels",schemaPath:"#/$defs/labels/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema45.type,parentSchema:schema45,data:data7}];
return false;
}
}
var valid0 = _errs16 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.commonAnnotations !== undefined){
let data9 = data.commonAnnotations;
const _errs22 = errors;
const _errs23 = errors;
if(errors === _errs23){
if(data9 && typeof data9 == "object" && !Array.isArray(data9)){
for(const key2 in data9){
let data10 = data9[key2];
const _errs26 = errors;
if(typeof data10 !== "string"){
validate30.errors = [{instancePath:instancePath+"/commonAnnotations/" + key2.replace(/~/g, "~0").replace(/\//g, "~1"),schemaPath:"#/$defs/labels/additionalProperties/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema45.additionalProperties.type,parentSchema:schema45.additionalProperties,data:data10}];
return false;
}
var valid7 = _errs26 === errors;
if(!valid7){
break;
}
}
}
else {
validate30.errors = [{instancePath:instancePath+"/commonAnnotations",schemaPath:"#/$defs/labels/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema45.type,parentSchema:schema45,data:data9}];
return false;
}
}
var valid0 = _errs22 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.externalURL !== undefined){
let data11 = data.externalURL;
const _errs28 = errors;
if(typeof data11 !== "string"){
validate30.errors = [{instancePath:instancePath+"/externalURL",schemaPath:"#/properties/externalURL/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema43.properties.externalURL.type,parentSchema:schema43.properties.externalURL,data:data11}];
return false;
}
var valid0 = _errs28 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.alerts !== undefined){
let data12 = data.alerts;
const _errs30 = errors;
if(errors === _errs30){
if(Array.isArray(data12)){
var valid8 = true;
const len0 = data12.length;
for(let i0=0; i0<len0; i0++){
const _errs32 = errors;
if(!(validate31(data12[i0], {instancePath:instancePath+"/alerts/" + i0,parentData:data12,parentDataProperty:i0,rootData,dynamicAnchors}))){
vErrors = vErrors === null ? validate31.errors : vErrors.concat(validate31.errors);
errors = vErrors.length;
}
var valid8 = _errs32 === errors;
if(!valid8){
break;
}
}
}
else {
validate30.errors = [{instancePath:instancePath+"/alerts",schemaPath:"#/properties/alerts/type",keyword:"type",params:{type: "array"},message:"must be array",schema:schema43.properties.alerts.type,parentSchema:schema43.properties.alerts,data:data12}];
return false;
}
}
var valid0 = _errs30 === errors;
}
else {
var valid0 = true;
}
}
}
}
}
}
}
}
}
}
}
}
else {
validate30.errors = [{instancePath,schemaPath:"#/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema43.type,parentSchema:schema43,data}];
return false;
}
}
validate30.errors = vErrors;
return errors === 0;
}
validate30.evaluated = {"props":{"version":true,"groupKey":true,"truncatedAlerts":true,"status":true,"receiver":true,"groupLabels":true,"commonLabels":true,"commonAnnotations":true,"externalURL":true,"alerts":true},"dynamicProps":false,"dynamicItems":false};


const schema54 = {"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://quantum-ess.invalid/contract/exporter-config.schema.json","title":"the exporter's configuration file","description":"/etc/quantum/ess-exporter.json (docs/exporter.md). Every key is optional: a missing one takes the default docs/exporter.md lists. Unknown keys are refused; the keys of an earlier release listed as deprecated are accepted and ignored for one release, with a warning. What a schema cannot say (the listen address resolved, the host name rule, trip_rules' matchers compiled, which keys go together) the exporter checks after this.","type":"object","additionalProperties":false,"properties":{"listen":{"title":"a string HOST:PORT","type":"string"},"ess_config_file":{"$ref":"#/$defs/absolutePath"},"system_bus_address":{"title":"a unix:path=/ABSOLUTE/SOCKET address","type":"string","pattern":"^unix:path=/[^,;]+$"},"dbus_timeout_seconds":{"title":"a number of seconds between 0.05 and 30","type":"number","minimum":0.05,"maximum":30},"webhook_token_file":{"$ref":"#/$defs/absolutePathOrNull"},"webhook_body_limit_bytes":{"title":"a whole number of bytes between 1024 and 67108864","type":"integer","minimum":1024,"maximum":67108864},"webhook_dry_run":{"$ref":"#/$defs/boolean"},"trip_rules":{"title":"a non-empty list of rules, each a list of matchers (to trip nothing, set webhook_dry_run)","description":"an alert trips this host when every matcher of one rule matches its labels (Alertmanager's matcher syntax)","type":"array","minItems":1,"items":{"title":"a non-empty list of matchers (an empty rule would trip on every alert)","type":"array","minItems":1,"items":{"title":"a matcher string","type":"string"}}},"host":{"title":"a host name ([A-Za-z0-9][A-Za-z0-9._-]{0,62})","description":"this receiver's name in a fleet (ess_host); when the key is missing, the kernel's host name","type":"string","pattern":"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"},"groups":{"title":"a list of distinct group names (at most 64)","type":"array","maxItems":64,"uniqueItems":true,"items":{"title":"a group name ([A-Za-z0-9][A-Za-z0-9._-]{0,62})","type":"string","pattern":"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"}},"tls_cert_file":{"$ref":"#/$defs/absolutePathOrNull"},"tls_key_file":{"$ref":"#/$defs/absolutePathOrNull"},"allow_plain_http_token":{"$ref":"#/$defs/boolean"},"systemctl_path":{"deprecated":true,"description":"ignored: unit states come from D-Bus only"},"busctl_path":{"deprecated":true,"description":"ignored: unit states come from D-Bus only"},"unit_state_cache_seconds":{"deprecated":true,"description":"ignored: unit states are pushed by systemd, never cached"},"systemctl_timeout_seconds":{"deprecated":true,"description":"now dbus_timeout_seconds, which takes its value unless set itself"}},"$defs":{"absolutePath":{"title":"an absolute path","type":"string","pattern":"^/"},"absolutePathOrNull":{"title":"an absolute path","oneOf":[{"type":"null"},{"type":"string","pattern":"^/"}]},"boolean":{"title":"true or false","type":"boolean"}}};
const schema55 = {"title":"an absolute path","type":"string","pattern":"^/"};
const schema56 = {"title":"an absolute path","oneOf":[{"type":"null"},{"type":"string","pattern":"^/"}]};
const schema57 = {"title":"true or false","type":"boolean"};
const func1 = Object.prototype.hasOwnProperty;
const pattern9 = new RegExp("^/", "u");
const pattern10 = new RegExp("^unix:path=/[^,;]+$", "u");
const pattern12 = new RegExp("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", "u");

function validate33(data, {instancePath="", parentData, parentDataProperty, rootData=data, dynamicAnchors={}}={}){
/*# sourceURL="https://quantum-ess.invalid/contract/exporter-config.schema.json" */;
let vErrors = null;
let errors = 0;
const evaluated0 = validate33.evaluated;
if(evaluated0.dynamicProps){
evaluated0.props = undefined;
}
if(evaluated0.dynamicItems){
evaluated0.items = undefined;
}
if(errors === 0){
if(data && typeof data == "object" && !Array.isArray(data)){
const _errs1 = errors;
for(const key0 in data){
if(!(func1.call(schema54.properties, key0))){
validate33.errors = [{instancePath,schemaPath:"#/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key0},message:"must NOT have additional properties",schema:false,parentSchema:schema54,data}];
return false;
break;
}
}
if(_errs1 === errors){
if(data.listen !== undefined){
let data0 = data.listen;
const _errs2 = errors;
if(typeof data0 !== "string"){
validate33.errors = [{instancePath:instancePath+"/listen",schemaPath:"#/properties/listen/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema54.properties.listen.type,parentSchema:schema54.properties.listen,data:data0}];
return false;
}
var valid0 = _errs2 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.ess_config_file !== undefined){
let data1 = data.ess_config_file;
const _errs4 = errors;
const _errs5 = errors;
if(errors === _errs5){
if(typeof data1 === "string"){
if(!pattern9.test(data1)){
validate33.errors = [{instancePath:instancePath+"/ess_config_file",schemaPath:"#/$defs/absolutePath/pattern",keyword:"pattern",params:{pattern: "^/"},message:"must match pattern \""+"^/"+"\"",schema:"^/",parentSchema:schema55,data:data1}];
return false;
}
}
else {
validate33.errors = [{instancePath:instancePath+"/ess_config_file",schemaPath:"#/$defs/absolutePath/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema55.type,parentSchema:schema55,data:data1}];
return false;
}
}
var valid0 = _errs4 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.system_bus_address !== undefined){
let data2 = data.system_bus_address;
const _errs7 = errors;
if(errors === _errs7){
if(typeof data2 === "string"){
if(!pattern10.test(data2)){
validate33.errors = [{instancePath:instancePath+"/system_bus_address",schemaPath:"#/properties/system_bus_address/pattern",keyword:"pattern",params:{pattern: "^unix:path=/[^,;]+$"},message:"must match pattern \""+"^unix:path=/[^,;]+$"+"\"",schema:"^unix:path=/[^,;]+$",parentSchema:schema54.properties.system_bus_address,data:data2}];
return false;
}
}
else {
validate33.errors = [{instancePath:instancePath+"/system_bus_address",schemaPath:"#/properties/system_bus_address/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema54.properties.system_bus_address.type,parentSchema:schema54.properties.system_bus_address,data:data2}];
return false;
}
}
var valid0 = _errs7 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.dbus_timeout_seconds !== undefined){
let data3 = data.dbus_timeout_seconds;
const _errs9 = errors;
if(errors === _errs9){
if((typeof data3 == "number") && (isFinite(data3))){
if(data3 > 30 || isNaN(data3)){
validate33.errors = [{instancePath:instancePath+"/dbus_timeout_seconds",schemaPath:"#/properties/dbus_timeout_seconds/maximum",keyword:"maximum",params:{comparison: "<=", limit: 30},message:"must be <= 30",schema:30,parentSchema:schema54.properties.dbus_timeout_seconds,data:data3}];
return false;
}
else {
if(data3 < 0.05 || isNaN(data3)){
validate33.errors = [{instancePath:instancePath+"/dbus_timeout_seconds",schemaPath:"#/properties/dbus_timeout_seconds/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0.05},message:"must be >= 0.05",schema:0.05,parentSchema:schema54.properties.dbus_timeout_seconds,data:data3}];
return false;
}
}
}
else {
validate33.errors = [{instancePath:instancePath+"/dbus_timeout_seconds",schemaPath:"#/properties/dbus_timeout_seconds/type",keyword:"type",params:{type: "number"},message:"must be number",schema:schema54.properties.dbus_timeout_seconds.type,parentSchema:schema54.properties.dbus_timeout_seconds,data:data3}];
return false;
}
}
var valid0 = _errs9 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.webhook_token_file !== undefined){
let data4 = data.webhook_token_file;
const _errs11 = errors;
const _errs13 = errors;
let valid3 = false;
let passing0 = null;
const _errs14 = errors;
if(data4 !== null){
const err0 = {instancePath:instancePath+"/webhook_token_file",schemaPath:"#/$defs/absolutePathOrNull/oneOf/0/type",keyword:"type",params:{type: "null"},message:"must be null",schema:schema56.oneOf[0].type,parentSchema:schema56.oneOf[0],data:data4};
if(vErrors === null){
vErrors = [err0];
}
else {
vErrors.push(err0);
}
errors++;
}
var _valid0 = _errs14 === errors;
if(_valid0){
valid3 = true;
passing0 = 0;
}
const _errs16 = errors;
if(errors === _errs16){
if(typeof data4 === "string"){
if(!pattern9.test(data4)){
const err1 = {instancePath:instancePath+"/webhook_token_file",schemaPath:"#/$defs/absolutePathOrNull/oneOf/1/pattern",keyword:"pattern",params:{pattern: "^/"},message:"must match pattern \""+"^/"+"\"",schema:"^/",parentSchema:schema56.oneOf[1],data:data4};
if(vErrors === null){
vErrors = [err1];
}
else {
vErrors.push(err1);
}
errors++;
}
}
else {
const err2 = {instancePath:instancePath+"/webhook_token_file",schemaPath:"#/$defs/absolutePathOrNull/oneOf/1/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema56.oneOf[1].type,parentSchema:schema56.oneOf[1],data:data4};
if(vErrors === null){
vErrors = [err2];
}
else {
vErrors.push(err2);
}
errors++;
}
}
var _valid0 = _errs16 === errors;
if(_valid0 && valid3){
valid3 = false;
passing0 = [passing0, 1];
}
else {
if(_valid0){
valid3 = true;
passing0 = 1;
}
}
if(!valid3){
const err3 = {instancePath:instancePath+"/webhook_token_file",schemaPath:"#/$defs/absolutePathOrNull/oneOf",keyword:"oneOf",params:{passingSchemas: passing0},message:"must match exactly one schema in oneOf",schema:schema56.oneOf,parentSchema:schema56,data:data4};
if(vErrors === null){
vErrors = [err3];
}
else {
vErrors.push(err3);
}
errors++;
validate33.errors = vErrors;
return false;
}
else {
errors = _errs13;
if(vErrors !== null){
if(_errs13){
vErrors.length = _errs13;
}
else {
vErrors = null;
}
}
}
var valid0 = _errs11 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.webhook_body_limit_bytes !== undefined){
let data5 = data.webhook_body_limit_bytes;
const _errs18 = errors;
if(!(((typeof data5 == "number") && (!(data5 % 1) && !isNaN(data5))) && (isFinite(data5)))){
validate33.errors = [{instancePath:instancePath+"/webhook_body_limit_bytes",schemaPath:"#/properties/webhook_body_limit_bytes/type",keyword:"type",params:{type: "integer"},message:"must be integer",schema:schema54.properties.webhook_body_limit_bytes.type,parentSchema:schema54.properties.webhook_body_limit_bytes,data:data5}];
return false;
}
if(errors === _errs18){
if((typeof data5 == "number") && (isFinite(data5))){
if(data5 > 67108864 || isNaN(data5)){
validate33.errors = [{instancePath:instancePath+"/webhook_body_limit_bytes",schemaPath:"#/properties/webhook_body_limit_bytes/maximum",keyword:"maximum",params:{comparison: "<=", limit: 67108864},message:"must be <= 67108864",schema:67108864,parentSchema:schema54.properties.webhook_body_limit_bytes,data:data5}];
return false;
}
else {
if(data5 < 1024 || isNaN(data5)){
validate33.errors = [{instancePath:instancePath+"/webhook_body_limit_bytes",schemaPath:"#/properties/webhook_body_limit_bytes/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1024},message:"must be >= 1024",schema:1024,parentSchema:schema54.properties.webhook_body_limit_bytes,data:data5}];
return false;
}
}
}
}
var valid0 = _errs18 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.webhook_dry_run !== undefined){
let data6 = data.webhook_dry_run;
const _errs20 = errors;
if(typeof data6 !== "boolean"){
validate33.errors = [{instancePath:instancePath+"/webhook_dry_run",schemaPath:"#/$defs/boolean/type",keyword:"type",params:{type: "boolean"},message:"must be boolean",schema:schema57.type,parentSchema:schema57,data:data6}];
return false;
}
var valid0 = _errs20 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.trip_rules !== undefined){
let data7 = data.trip_rules;
const _errs23 = errors;
if(errors === _errs23){
if(Array.isArray(data7)){
if(data7.length < 1){
validate33.errors = [{instancePath:instancePath+"/trip_rules",schemaPath:"#/properties/trip_rules/minItems",keyword:"minItems",params:{limit: 1},message:"must NOT have fewer than 1 items",schema:1,parentSchema:schema54.properties.trip_rules,data:data7}];
return false;
}
else {
var valid5 = true;
const len0 = data7.length;
for(let i0=0; i0<len0; i0++){
let data8 = data7[i0];
const _errs25 = errors;
if(errors === _errs25){
if(Array.isArray(data8)){
if(data8.length < 1){
validate33.errors = [{instancePath:instancePath+"/trip_rules/" + i0,schemaPath:"#/properties/trip_rules/items/minItems",keyword:"minItems",params:{limit: 1},message:"must NOT have fewer than 1 items",schema:1,parentSchema:schema54.properties.trip_rules.items,data:data8}];
return false;
}
else {
var valid6 = true;
const len1 = data8.length;
for(let i1=0; i1<len1; i1++){
let data9 = data8[i1];
const _errs27 = errors;
if(typeof data9 !== "string"){
validate33.errors = [{instancePath:instancePath+"/trip_rules/" + i0+"/" + i1,schemaPath:"#/properties/trip_rules/items/items/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema54.properties.trip_rules.items.items.type,parentSchema:schema54.properties.trip_rules.items.items,data:data9}];
return false;
}
var valid6 = _errs27 === errors;
if(!valid6){
break;
}
}
}
}
else {
validate33.errors = [{instancePath:instancePath+"/trip_rules/" + i0,schemaPath:"#/properties/trip_rules/items/type",keyword:"type",params:{type: "array"},message:"must be array",schema:schema54.properties.trip_rules.items.type,parentSchema:schema54.properties.trip_rules.items,data:data8}];
return false;
}
}
var valid5 = _errs25 === errors;
if(!valid5){
break;
}
}
}
}
else {
validate33.errors = [{instancePath:instancePath+"/trip_rules",schemaPath:"#/properties/trip_rules/type",keyword:"type",params:{type: "array"},message:"must be array",schema:schema54.properties.trip_rules.type,parentSchema:schema54.properties.trip_rules,data:data7}];
return false;
}
}
var valid0 = _errs23 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.host !== undefined){
let data10 = data.host;
const _errs29 = errors;
if(errors === _errs29){
if(typeof data10 === "string"){
if(!pattern12.test(data10)){
validate33.errors = [{instancePath:instancePath+"/host",schemaPath:"#/properties/host/pattern",keyword:"pattern",params:{pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"},message:"must match pattern \""+"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"+"\"",schema:"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",parentSchema:schema54.properties.host,data:data10}];
return false;
}
}
else {
validate33.errors = [{instancePath:instancePath+"/host",schemaPath:"#/properties/host/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema54.properties.host.type,parentSchema:schema54.properties.host,data:data10}];
return false;
}
}
var valid0 = _errs29 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.groups !== undefined){
let data11 = data.groups;
const _errs31 = errors;
if(errors === _errs31){
if(Array.isArray(data11)){
if(data11.length > 64){
validate33.errors = [{instancePath:instancePath+"/groups",schemaPath:"#/properties/groups/maxItems",keyword:"maxItems",params:{limit: 64},message:"must NOT have more than 64 items",schema:64,parentSchema:schema54.properties.groups,data:data11}];
return false;
}
else {
var valid7 = true;
const len2 = data11.length;
for(let i2=0; i2<len2; i2++){
let data12 = data11[i2];
const _errs33 = errors;
if(errors === _errs33){
if(typeof data12 === "string"){
if(!pattern12.test(data12)){
validate33.errors = [{instancePath:instancePath+"/groups/" + i2,schemaPath:"#/properties/groups/items/pattern",keyword:"pattern",params:{pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"},message:"must match pattern \""+"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"+"\"",schema:"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",parentSchema:schema54.properties.groups.items,data:data12}];
return false;
}
}
else {
validate33.errors = [{instancePath:instancePath+"/groups/" + i2,schemaPath:"#/properties/groups/items/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema54.properties.groups.items.type,parentSchema:schema54.properties.groups.items,data:data12}];
return false;
}
}
var valid7 = _errs33 === errors;
if(!valid7){
break;
}
}
if(valid7){
let i3 = data11.length;
let j0;
if(i3 > 1){
const indices0 = {};
for(;i3--;){
let item0 = data11[i3];
if(typeof item0 !== "string"){
continue;
}
if(typeof indices0[item0] == "number"){
j0 = indices0[item0];
validate33.errors = [{instancePath:instancePath+"/groups",schemaPath:"#/properties/groups/uniqueItems",keyword:"uniqueItems",params:{i: i3, j: j0},message:"must NOT have duplicate items (items ## "+j0+" and "+i3+" are identical)",schema:true,parentSchema:schema54.properties.groups,data:data11}];
return false;
break;
}
indices0[item0] = i3;
}
}
}
}
}
else {
validate33.errors = [{instancePath:instancePath+"/groups",schemaPath:"#/properties/groups/type",keyword:"type",params:{type: "array"},message:"must be array",schema:schema54.properties.groups.type,parentSchema:schema54.properties.groups,data:data11}];
return false;
}
}
var valid0 = _errs31 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.tls_cert_file !== undefined){
let data13 = data.tls_cert_file;
const _errs35 = errors;
const _errs37 = errors;
let valid10 = false;
let passing1 = null;
const _errs38 = errors;
if(data13 !== null){
const err4 = {instancePath:instancePath+"/tls_cert_file",schemaPath:"#/$defs/absolutePathOrNull/oneOf/0/type",keyword:"type",params:{type: "null"},message:"must be null",schema:schema56.oneOf[0].type,parentSchema:schema56.oneOf[0],data:data13};
if(vErrors === null){
vErrors = [err4];
}
else {
vErrors.push(err4);
}
errors++;
}
var _valid1 = _errs38 === errors;
if(_valid1){
valid10 = true;
passing1 = 0;
}
const _errs40 = errors;
if(errors === _errs40){
if(typeof data13 === "string"){
if(!pattern9.test(data13)){
const err5 = {instancePath:instancePath+"/tls_cert_file",schemaPath:"#/$defs/absolutePathOrNull/oneOf/1/pattern",keyword:"pattern",params:{pattern: "^/"},message:"must match pattern \""+"^/"+"\"",schema:"^/",parentSchema:schema56.oneOf[1],data:data13};
if(vErrors === null){
vErrors = [err5];
}
else {
vErrors.push(err5);
}
errors++;
}
}
else {
const err6 = {instancePath:instancePath+"/tls_cert_file",schemaPath:"#/$defs/absolutePathOrNull/oneOf/1/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema56.oneOf[1].type,parentSchema:schema56.oneOf[1],data:data13};
if(vErrors === null){
vErrors = [err6];
}
else {
vErrors.push(err6);
}
errors++;
}
}
var _valid1 = _errs40 === errors;
if(_valid1 && valid10){
valid10 = false;
passing1 = [passing1, 1];
}
else {
if(_valid1){
valid10 = true;
passing1 = 1;
}
}
if(!valid10){
const err7 = {instancePath:instancePath+"/tls_cert_file",schemaPath:"#/$defs/absolutePathOrNull/oneOf",keyword:"oneOf",params:{passingSchemas: passing1},message:"must match exactly one schema in oneOf",schema:schema56.oneOf,parentSchema:schema56,data:data13};
if(vErrors === null){
vErrors = [err7];
}
else {
vErrors.push(err7);
}
errors++;
validate33.errors = vErrors;
return false;
}
else {
errors = _errs37;
if(vErrors !== null){
if(_errs37){
vErrors.length = _errs37;
}
else {
vErrors = null;
}
}
}
var valid0 = _errs35 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.tls_key_file !== undefined){
let data14 = data.tls_key_file;
const _errs42 = errors;
const _errs44 = errors;
let valid12 = false;
let passing2 = null;
const _errs45 = errors;
if(data14 !== null){
const err8 = {instancePath:instancePath+"/tls_key_file",schemaPath:"#/$defs/absolutePathOrNull/oneOf/0/type",keyword:"type",params:{type: "null"},message:"must be null",schema:schema56.oneOf[0].type,parentSchema:schema56.oneOf[0],data:data14};
if(vErrors === null){
vErrors = [err8];
}
else {
vErrors.push(err8);
}
errors++;
}
var _valid2 = _errs45 === errors;
if(_valid2){
valid12 = true;
passing2 = 0;
}
const _errs47 = errors;
if(errors === _errs47){
if(typeof data14 === "string"){
if(!pattern9.test(data14)){
const err9 = {instancePath:instancePath+"/tls_key_file",schemaPath:"#/$defs/absolutePathOrNull/oneOf/1/pattern",keyword:"pattern",params:{pattern: "^/"},message:"must match pattern \""+"^/"+"\"",schema:"^/",parentSchema:schema56.oneOf[1],data:data14};
if(vErrors === null){
vErrors = [err9];
}
else {
vErrors.push(err9);
}
errors++;
}
}
else {
const err10 = {instancePath:instancePath+"/tls_key_file",schemaPath:"#/$defs/absolutePathOrNull/oneOf/1/type",keyword:"type",params:{type: "string"},message:"must be string",schema:schema56.oneOf[1].type,parentSchema:schema56.oneOf[1],data:data14};
if(vErrors === null){
vErrors = [err10];
}
else {
vErrors.push(err10);
}
errors++;
}
}
var _valid2 = _errs47 === errors;
if(_valid2 && valid12){
valid12 = false;
passing2 = [passing2, 1];
}
else {
if(_valid2){
valid12 = true;
passing2 = 1;
}
}
if(!valid12){
const err11 = {instancePath:instancePath+"/tls_key_file",schemaPath:"#/$defs/absolutePathOrNull/oneOf",keyword:"oneOf",params:{passingSchemas: passing2},message:"must match exactly one schema in oneOf",schema:schema56.oneOf,parentSchema:schema56,data:data14};
if(vErrors === null){
vErrors = [err11];
}
else {
vErrors.push(err11);
}
errors++;
validate33.errors = vErrors;
return false;
}
else {
errors = _errs44;
if(vErrors !== null){
if(_errs44){
vErrors.length = _errs44;
}
else {
vErrors = null;
}
}
}
var valid0 = _errs42 === errors;
}
else {
var valid0 = true;
}
if(valid0){
if(data.allow_plain_http_token !== undefined){
let data15 = data.allow_plain_http_token;
const _errs49 = errors;
if(typeof data15 !== "boolean"){
validate33.errors = [{instancePath:instancePath+"/allow_plain_http_token",schemaPath:"#/$defs/boolean/type",keyword:"type",params:{type: "boolean"},message:"must be boolean",schema:schema57.type,parentSchema:schema57,data:data15}];
return false;
}
var valid0 = _errs49 === errors;
}
else {
var valid0 = true;
}
}
}
}
}
}
}
}
}
}
}
}
}
}
}
else {
validate33.errors = [{instancePath,schemaPath:"#/type",keyword:"type",params:{type: "object"},message:"must be object",schema:schema54.type,parentSchema:schema54,data}];
return false;
}
}
validate33.errors = vErrors;
return errors === 0;
}
validate33.evaluated = {"props":true,"dynamicProps":false,"dynamicItems":false};

export const validateStateFile = validate20 as SchemaValidator<types.StateFile>;
export const validateDrillFile = validate28 as SchemaValidator<types.DrillFile>;
export const validateExemptionRecord = validate29 as SchemaValidator<types.ExemptionRecord>;
export const validateWebhookPayload = validate30 as SchemaValidator<types.WebhookPayload>;
export const validateExporterConfigFile = validate33 as SchemaValidator<types.ExporterConfigFile>;
